//! Multipart upload forms on any body: axum's multipart reader, then the
//! portal's readers of the vault upload form (`/coffre/depots`) and of the
//! publishing form (`/ressources`), then the checks on what they brought.
//! The first byte picks the form; the boundary is `XFUZZ`. An answer,
//! never a panic.

#![no_main]

use std::sync::OnceLock;

use axum::{
    body::Body,
    extract::{FromRequest, Multipart, Request},
};
use libfuzzer_sys::fuzz_target;
use passerelle_observatory::resources as published;
use passerelle_portal::{resources, vault};
use passerelle_vault::uploads;

/// The boundary the seeds use.
const BOUNDARY: &str = "XFUZZ";

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread runtime")
    })
}

async fn multipart(body: Vec<u8>) -> Option<Multipart> {
    let req = Request::builder()
        .method("POST")
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(Body::from(body))
        .ok()?;
    Multipart::from_request(req, &()).await.ok()
}

fuzz_target!(|data: &[u8]| {
    let Some((&form, body)) = data.split_first() else {
        return;
    };
    let body = body.to_vec();
    runtime().block_on(async move {
        let Some(mut parts) = multipart(body).await else {
            return;
        };
        if form % 2 == 0 {
            if let Ok(got) = vault::read_upload(&mut parts).await {
                if let Some((name, bytes)) = got.file {
                    assert!(bytes.len() <= uploads::MAX_UPLOAD);
                    let _ = uploads::check(&bytes, &name);
                }
            }
        } else if let Ok(u) = resources::read_upload(&mut parts).await {
            let _ = published::check(&u.title, &u.theme, &u.date, &u.bytes);
        }
    });
});
