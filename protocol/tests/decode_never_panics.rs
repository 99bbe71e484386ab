//! Property test: every decoder returns an error, never a panic, on any bytes.

use passerelle_protocol::{
    codec,
    enroll::{EnrollRequest, EnrollResponse, Token},
    envelope::{QueryBody, ReplyBody, SignedQuery, SignedReply},
    frame,
};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = codec::decode::<SignedQuery>(&bytes);
        let _ = codec::decode::<SignedReply>(&bytes);
        let _ = codec::decode::<QueryBody>(&bytes);
        let _ = codec::decode::<ReplyBody>(&bytes);
        let _ = codec::decode::<EnrollRequest>(&bytes);
        let _ = codec::decode::<EnrollResponse>(&bytes);
        let _ = frame::split(&bytes, frame::MAX_CONTROL_FRAME);
        let _ = Token::parse(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn mutated_valid_messages_never_panic(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)
    ) {
        let q = SignedQuery { version: 1, body: vec![1, 2, 3, 4, 5, 6, 7, 8], signature: vec![0; 64] };
        let mut bytes = codec::encode(&q).unwrap();
        for (i, v) in flips {
            let i = i.index(bytes.len());
            bytes[i] = v;
        }
        let _ = codec::decode::<SignedQuery>(&bytes);
    }
}

#[test]
fn huge_length_prefix_does_not_allocate() {
    // A Vec<u8> length claiming 2^60 elements must fail on the limit.
    let mut bytes = vec![1u8]; // version varint
    bytes.extend_from_slice(&[0xfd]); // u64 varint marker
    bytes.extend_from_slice(&(1u64 << 60).to_le_bytes());
    let err = codec::decode::<SignedQuery>(&bytes).unwrap_err();
    assert!(err.to_string().contains("malformed"), "{err}");
}
