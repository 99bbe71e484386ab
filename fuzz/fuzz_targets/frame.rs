//! Link framing: any byte stream splits into frames or gives an error,
//! never a panic, and every frame split off round-trips through `header`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use passerelle_protocol::frame;

fuzz_target!(|data: &[u8]| {
    // The first byte picks a small limit now and then, to reach TooLarge.
    let max = match data.first() {
        Some(b) if b % 4 == 0 => u32::from(*b),
        _ => frame::MAX_CONTROL_FRAME,
    };
    let mut rest = data;
    while let Ok(Some((payload, used))) = frame::split(rest, max) {
        assert_eq!(used, frame::HEADER_LEN + payload.len());
        let head = frame::header(payload.len(), max).expect("a split frame has a valid header");
        assert_eq!(head[..], rest[..frame::HEADER_LEN]);
        rest = &rest[used..];
    }
});
