//! Reading the figures of the portal's pages, CSV downloads and JSON
//! answers, strictly: each figure with the cell it shows.

use passerelle_protocol::geo::Level;

/// What a page, file or answer says of a cell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shown {
    /// A figure.
    Value(f64),
    /// No figure: masked (secret statistique) or not available.
    Absent,
}

/// A figure read: indicator, level, code, period, what is shown. A
/// breakdown's figure names its category after the indicator:
/// `personnes-recues#sexe=F`.
pub type Found = (String, Level, String, String, Shown);

/// The indicator of a breakdown's figure, as [`Found`] names it.
pub fn with_category(indicator: &str, category: Option<&str>) -> String {
    match category {
        Some(c) => format!("{indicator}#{c}"),
        None => indicator.to_string(),
    }
}

/// Same-site links of a page, without their fragment.
pub fn links(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|u| unescape(u.split('#').next().unwrap_or_default()))
        .filter(|u| u.starts_with('/') && !u.starts_with("//"))
        .collect()
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// Text without its tags.
fn text(markup: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for ch in markup.chars() {
        match ch {
            '<' => inside = true,
            '>' => inside = false,
            c if !inside => out.push(c),
            _ => {}
        }
    }
    unescape(&out)
}

/// An attribute of a start tag.
fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let at = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    tag[at..].split('"').next()
}

/// The figures of a page: every element marked with a cell, its text read
/// as a French number or a reason for none. A figure-holding element left
/// unmarked (a value cell of a table, a headline, a chart or map title
/// with a number) is a problem.
pub fn html_figures(html: &str) -> Result<Vec<Found>, String> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = html[from..].find(" data-code=\"").map(|i| i + from) {
        from = at + 1;
        let start = html[..at].rfind('<').ok_or("no tag")?;
        let end = at + html[at..].find('>').ok_or("tag never ends")?;
        let tag = &html[start..end];
        let name = tag[1..].split_whitespace().next().unwrap_or_default();
        let close = format!("</{name}>");
        let inner = &html[end + 1..end + 1 + html[end + 1..].find(&close).ok_or("not closed")?];
        let get = |a: &str| attr(tag, a).map(unescape).ok_or(format!("{tag}: no {a}"));
        let level: Level = get("data-level")?
            .parse()
            .map_err(|e| format!("{tag}: {e}"))?;
        let category = attr(tag, "data-category").map(unescape);
        out.push((
            with_category(&get("data-indicator")?, category.as_deref()),
            level,
            get("data-code")?,
            get("data-period")?,
            figure(&text(inner)).map_err(|e| format!("{tag}: {e}"))?,
        ));
    }
    for open in ["<td class=\"n\">", "<p class=\"chiffre\">"] {
        for rest in html.split(open).skip(1) {
            let t = text(rest.split("</").next().unwrap_or_default());
            if t.chars().any(|c| c.is_ascii_digit()) {
                return Err(format!("an unmarked figure: {open}{t}"));
            }
        }
    }
    for (i, _) in html.match_indices("<title>") {
        let t = text(&html[i..i + html[i..].find("</title>").unwrap_or(0)]);
        let number = t
            .rsplit_once(" : ")
            .is_some_and(|(_, v)| v.starts_with(|c: char| c.is_ascii_digit() || c == '−'));
        let parent = &html[html[..i].rfind('<').unwrap_or(0)..i];
        if number && !parent.contains(" data-code=\"") {
            return Err(format!("an unmarked figure in a title: {t}"));
        }
    }
    Ok(out)
}

/// A figure's text: a French number (with its unit after it), or why
/// there is none. In a title, the figure follows the last " : ".
fn figure(t: &str) -> Result<Shown, String> {
    let t = t.rsplit_once(" : ").map_or(t, |(_, v)| v).trim();
    if t.is_empty()
        || t == "—"
        || t.starts_with("secret statistique")
        || t.starts_with("< seuil")
        || t == "non disponible"
    {
        return Ok(Shown::Absent);
    }
    let digits: String = t
        .chars()
        .take_while(|c| c.is_ascii_digit() || matches!(c, '\u{202f}' | ',' | '−'))
        .filter(|c| *c != '\u{202f}')
        .map(|c| match c {
            ',' => '.',
            '−' => '-',
            c => c,
        })
        .collect();
    digits
        .parse()
        .map(Shown::Value)
        .map_err(|_| format!("not a figure: {t:?}"))
}

/// The cells of a CSV download, read strictly, in either dialect: the
/// standard one (`,`, decimal point, no BOM) or the French spreadsheet
/// one (UTF-8 BOM, `;`, decimal comma).
pub fn csv_figures(csv: &str) -> Result<Vec<Found>, String> {
    let (csv, sep) = match csv.strip_prefix('\u{feff}') {
        Some(rest) => (rest, ';'),
        None => (csv, ','),
    };
    let mut lines = csv.lines();
    let header = [
        "indicateur",
        "niveau",
        "code",
        "nom",
        "periode",
        "valeur",
        "statut",
    ];
    // A breakdown's file: its dimension and each row's category beside.
    let breakdown = [
        "indicateur",
        "repartition",
        "niveau",
        "code",
        "nom",
        "periode",
        "categorie",
        "valeur",
        "statut",
    ];
    let first = lines.next();
    let by = if first == Some(header.join(&sep.to_string()).as_str()) {
        false
    } else if first == Some(breakdown.join(&sep.to_string()).as_str()) {
        true
    } else {
        return Err("unexpected header".into());
    };
    let mut out = Vec::new();
    for line in lines {
        let mut f = csv_fields_with(line, sep)?;
        if by {
            let (Some(dim), Some(cat)) = (f.get(1).cloned(), f.get(6).cloned()) else {
                return Err(format!("{} fields: {line}", f.len()));
            };
            if f.len() != breakdown.len() {
                return Err(format!("{} fields: {line}", f.len()));
            }
            f.remove(6);
            f.remove(1);
            f[0] = with_category(&f[0], Some(&format!("{dim}={cat}")));
        }
        let [ind, level, code, _, period, value, status] = f.as_slice() else {
            return Err(format!("{} fields: {line}", f.len()));
        };
        let level: Level = level.parse().map_err(|e| format!("{line}: {e}"))?;
        // The French dialect writes a decimal comma, never a point.
        let value = match sep {
            ';' if value.contains('.') => return Err(format!("a decimal point: {line}")),
            ';' => value.replace(',', "."),
            _ => value.clone(),
        };
        let shown = match (status.as_str(), value.as_str()) {
            ("publie", v) => Shown::Value(v.parse().map_err(|_| format!("value: {line}"))?),
            ("secret_statistique" | "non_disponible", "") => Shown::Absent,
            _ => return Err(format!("status and value disagree: {line}")),
        };
        out.push((ind.clone(), level, code.clone(), period.clone(), shown));
    }
    Ok(out)
}

/// The fields of a CSV line separated by `sep` (RFC 4180 quoting).
pub fn csv_fields_with(line: &str, sep: char) -> Result<Vec<String>, String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        let last = fields.last_mut().expect("one field");
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                last.push('"');
            }
            ('"', true) => quoted = false,
            ('"', false) if last.is_empty() => quoted = true,
            (c, false) if c == sep => fields.push(String::new()),
            ('"', false) => return Err(format!("stray quote: {line}")),
            (c, _) => last.push(c),
        }
    }
    if quoted {
        return Err(format!("unclosed quote: {line}"));
    }
    Ok(fields)
}

/// The cells of an indicator's JSON (download or API), read strictly;
/// other JSON (the catalog, the OpenAPI document) has none.
pub fn json_figures(body: &str) -> Result<Vec<Found>, String> {
    let v: serde_json::Value = serde_json::from_str(body).map_err(|e| e.to_string())?;
    if v.get("statement").is_some() {
        return bundle_figures(body);
    }
    let Some(cells) = v.get("cells") else {
        return Ok(Vec::new());
    };
    let ind = v["indicator"]["id"].as_str().ok_or("no indicator id")?;
    let mut out = cells_of(ind, cells.as_array().ok_or("cells is not a list")?)?;
    for b in v["breakdowns"].as_array().into_iter().flatten() {
        let by = b["by"]
            .as_str()
            .ok_or("a breakdown without its dimension")?;
        let cells = b["cells"]
            .as_array()
            .ok_or(format!("a breakdown without cells: {b}"))?;
        for c in cells {
            let cat = c["category"].as_str().ok_or(format!("{c}: category"))?;
            let name = with_category(ind, Some(&format!("{by}={cat}")));
            out.extend(cells_of(&name, std::slice::from_ref(c))?);
        }
    }
    Ok(out)
}

/// The figures of a list of JSON cells of `ind`.
fn cells_of(ind: &str, cells: &[serde_json::Value]) -> Result<Vec<Found>, String> {
    let mut out = Vec::new();
    for c in cells {
        let s = |k: &str| c[k].as_str().map(str::to_string).ok_or(format!("{c}: {k}"));
        let level: Level = s("level")?.parse().map_err(|e| format!("{c}: {e}"))?;
        let shown = match (s("status")?.as_str(), &c["value"]) {
            ("publie", serde_json::Value::Number(n)) => {
                Shown::Value(n.as_f64().unwrap_or(f64::NAN))
            }
            ("secret_statistique" | "non_disponible", serde_json::Value::Null) => Shown::Absent,
            _ => return Err(format!("status and value disagree: {c}")),
        };
        out.push((ind.to_string(), level, s("code")?, s("period")?, shown));
    }
    Ok(out)
}

/// The figures of a provenance bundle ("Vérifier ce chiffre"): its
/// published cells, and every cell of every node answer it discloses (a
/// count answer of `personnes_recues` is read as the figures of
/// `personnes-recues`, whose truth it is; any other answer's figure is
/// read under its own name, which no truth accepts).
pub fn bundle_figures(body: &str) -> Result<Vec<Found>, String> {
    use passerelle_protocol::{aggregate::CellValue, codec, envelope::ReplyBody};
    use passerelle_provenance::{
        bundle::{answer, Bundle, Statement},
        compose::Status,
    };
    let b: Bundle = serde_json::from_str(body).map_err(|e| e.to_string())?;
    let s: Statement = serde_json::from_str(b.statement.get()).map_err(|e| e.to_string())?;
    let id = s.indicator.id.clone();
    let mut out = Vec::new();
    for c in &s.cells {
        let shown = match (c.status, c.value) {
            (Status::Released, Some(v)) => Shown::Value(v),
            (Status::Suppressed | Status::Missing, None) => Shown::Absent,
            _ => return Err(format!("status and value disagree: {c:?}")),
        };
        out.push((
            id.clone(),
            c.level,
            c.code.clone(),
            c.period.to_string(),
            shown,
        ));
    }
    for c in &s.contributions {
        let Some(bytes) = &c.signed_answer else {
            continue;
        };
        let reply: ReplyBody = codec::decode(&bytes.0).map_err(|e| e.to_string())?;
        let a = answer(&reply).ok_or("a disclosed answer that is not an aggregate")?;
        let name = if a.query.dataset == "personnes_recues"
            && a.query.measure == passerelle_protocol::aggregate::Measure::Count
        {
            "personnes-recues".to_string()
        } else {
            format!("answer of {} to {}", c.node_id, a.query.dataset)
        };
        for cell in &a.cells {
            let shown = match cell.value {
                CellValue::Released(v) => Shown::Value(v),
                CellValue::Suppressed(_) => Shown::Absent,
            };
            let category = a
                .query
                .by
                .as_ref()
                .zip(cell.category.as_ref())
                .map(|(by, k)| format!("{by}={k}"));
            out.push((
                with_category(&name, category.as_deref()),
                cell.level,
                cell.code.clone(),
                cell.period.to_string(),
                shown,
            ));
        }
    }
    Ok(out)
}
