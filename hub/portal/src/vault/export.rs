//! The export of everything the person holds, as one ZIP streamed as it
//! is written.

use super::*;

type Chunks = tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>;

/// GET `/coffre/export`: everything the person holds, as one ZIP streamed
/// as it is written (uploads, every linked institution's documents, and a
/// `manifeste.json`). Each document fetched is logged like a download.
pub async fn export(State(ctx): State<Arc<Ctx>>, s: Person) -> Response {
    person_did(&ctx, &s.person, Action::Export, "-", String::new());
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(8);
    let task_ctx = ctx.clone();
    tokio::spawn(async move {
        if let Err(error) = write_export(&task_ctx, &s, &tx).await {
            tracing::warn!(%error, "export aborted");
            let _ = tx.send(Err(std::io::Error::other(error))).await;
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    file_response(
        Body::from_stream(stream),
        "application/zip",
        "mon-coffre.zip",
    )
}

/// Names from institutions and uploads become one safe path segment
/// each: no separators, no dot-only names.
fn segment(t: &str) -> String {
    let t: String = t
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    if t.trim_matches('.').trim().is_empty() {
        "_".to_string()
    } else {
        t
    }
}

/// The ZIP being written, what it holds so far, and where it goes.
struct Writer<'a> {
    tx: &'a Chunks,
    zip: vault::zip::Zip,
    manifest: Vec<serde_json::Value>,
    used: std::collections::HashSet<String>,
}

impl Writer<'_> {
    async fn send(&self, b: Vec<u8>) -> Result<(), String> {
        self.tx
            .send(Ok(Bytes::from(b)))
            .await
            .map_err(|_| "client went away".to_string())
    }

    /// A path in the ZIP no other entry has.
    fn unique(&mut self, dir: &str, name: &str, id: &str) -> String {
        let (dir, clean) = (segment(dir), segment(name));
        let mut path = format!("{dir}/{clean}");
        if !self.used.insert(path.clone()) {
            path = format!("{dir}/{}-{clean}", &id[..8.min(id.len())]);
            self.used.insert(path.clone());
        }
        path
    }

    /// A whole entry, its bytes at hand.
    async fn entry(&mut self, path: &str, bytes: Vec<u8>) -> Result<(), String> {
        let head = self.zip.start(path).map_err(|e| e.to_string())?;
        self.send(head).await?;
        self.zip.data(&bytes);
        self.send(bytes).await?;
        let tail = self.zip.end().map_err(|e| e.to_string())?;
        self.send(tail).await
    }

    /// An entry streamed from a node as it arrives. A transfer that fails
    /// once the entry started aborts the export (the ZIP cannot take the
    /// entry back): the client sees it end short, within the stall
    /// deadline.
    async fn streamed(&mut self, path: &str, mut incoming: Incoming) -> Result<(), String> {
        let head = self.zip.start(path).map_err(|e| e.to_string())?;
        self.send(head).await?;
        while let Some(chunk) = incoming.next_chunk().await {
            let chunk = chunk.map_err(|e| e.to_string())?;
            self.zip.data(&chunk);
            self.tx
                .send(Ok(chunk))
                .await
                .map_err(|_| "client went away".to_string())?;
        }
        let tail = self.zip.end().map_err(|e| e.to_string())?;
        self.send(tail).await
    }
}

async fn write_export(ctx: &Ctx, s: &accounts::PersonSession, tx: &Chunks) -> Result<(), String> {
    let mut w = Writer {
        tx,
        zip: vault::zip::Zip::default(),
        manifest: Vec::new(),
        used: std::collections::HashSet::new(),
    };
    for u in ctx
        .vault
        .store
        .uploads(&s.person)
        .map_err(|e| e.to_string())?
    {
        let bytes = uploads::read(&ctx.hub.dir.vault(), &u, &s.key).map_err(|e| e.to_string())?;
        let path = w.unique("mes-depots", &u.name, &u.id);
        w.entry(&path, bytes).await?;
        w.manifest.push(serde_json::json!({"fichier": path, "origine": "déposé par vous", "type": u.category.label(), "nom": u.name, "octets": u.size, "date": passerelle_link::output::rfc3339(u.added_at)}));
    }
    for h in ctx.vault.holdings(&s.person, &Requester::Person).await {
        let Ok(docs) = h.documents else {
            w.manifest.push(serde_json::json!({"institution": h.name, "erreur": h.documents.err().map(|e| access_french(&e))}));
            continue;
        };
        for d in docs {
            // A node that fails before the entry starts costs only its
            // document: the manifest says why, the export goes on.
            let incoming = match ctx
                .vault
                .open(&s.person, &h.node, &d.id, &Requester::Person)
                .await
            {
                Ok(i) => i,
                Err(e) => {
                    w.manifest.push(serde_json::json!({"institution": h.name, "nom": d.name, "erreur": access_french(&e)}));
                    continue;
                }
            };
            let path = w.unique(&h.name, &d.name, &d.id);
            w.streamed(&path, incoming).await?;
            w.manifest.push(serde_json::json!({"fichier": path, "origine": h.name, "type": d.category.label(), "nom": d.name, "octets": d.size, "sha256": passerelle_protocol::hex::encode(&d.sha256), "date": passerelle_link::output::rfc3339(d.added_at)}));
        }
    }
    let m = serde_json::to_vec_pretty(&serde_json::json!({"coffre": "Passerelle", "exporte_le": passerelle_link::output::rfc3339(now()), "documents": std::mem::take(&mut w.manifest)})).map_err(|e| e.to_string())?;
    // The last entry is closed by the ZIP's end.
    let head = w.zip.start("manifeste.json").map_err(|e| e.to_string())?;
    w.send(head).await?;
    w.zip.data(&m);
    w.send(m).await?;
    let end = std::mem::take(&mut w.zip)
        .finish()
        .map_err(|e| e.to_string())?;
    w.send(end).await
}
