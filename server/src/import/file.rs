//! Reading an upload before any job starts: JSON or zip (told apart by the content, not the
//! name or type), which format it holds, and whether it is well-formed — so a bad file is
//! refused at once, saying where (entry, line, column).
//!
//! Hostile files are refused, not expanded:
//! - a zip's entries are read only if they can hold conversations, each through a reader that
//!   stops at what is left of the budget (`MAX_IMPORT_BYTES` for all of them together): a zip
//!   bomb costs at most that much memory and is refused past it; nested archives are never
//!   opened; encrypted or unknown-compression entries are refused by name;
//! - JSON nested deeper than [`MAX_DEPTH`] is refused by a scan that counts brackets before any
//!   parser (whose own recursion is then bounded too) sees it.

use std::{
    collections::HashMap,
    io::{Cursor, Read},
};

use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::store::imports::Format;

/// The deepest nesting of arrays and objects a file may have (ChatGPT's exports need ~12).
pub const MAX_DEPTH: usize = 64;
/// The most entries a zip may list.
pub const MAX_ENTRIES: usize = 100_000;

/// A file, read and checked.
#[derive(Debug)]
pub struct Upload {
    pub format: Format,
    /// The JSON documents holding the conversations, in order.
    pub documents: Vec<Document>,
    /// A Confab account export's folders: id → name.
    pub folders: HashMap<String, String>,
    /// A Confab account export's own presets: name and parameters (checked by the job).
    pub presets: Vec<Preset>,
}

/// A preset of an account export, as written (`presets.json`).
#[derive(Debug, Deserialize)]
pub struct Preset {
    pub name: String,
    pub parameters: serde_json::Value,
}

/// One JSON document: an array of conversations or one conversation.
#[derive(Debug)]
pub struct Document {
    /// The entry's name in the zip, or the file's name.
    pub name: String,
    pub bytes: Bytes,
}

impl Document {
    /// An array of conversations (else one conversation).
    pub fn is_array(&self) -> bool {
        first_byte(&self.bytes) == Some(b'[')
    }

    /// Its conversations, as raw JSON (the document was checked: it parses).
    pub fn conversations(&self) -> serde_json::Result<Vec<&RawValue>> {
        if self.is_array() {
            serde_json::from_slice(&self.bytes)
        } else {
            serde_json::from_slice::<&RawValue>(&self.bytes).map(|one| vec![one])
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum FileError {
    /// 422: not JSON or zip, malformed, or no known format.
    Invalid(String),
    /// 413: expands past the limit.
    TooLarge(String),
}

fn first_byte(bytes: &[u8]) -> Option<u8> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    bytes.iter().copied().find(|b| !b.is_ascii_whitespace())
}

/// Where the nesting first goes past `max`, as (line, column), outside strings.
fn too_deep(bytes: &[u8], max: usize) -> Option<(usize, usize)> {
    let (mut depth, mut line, mut column) = (0usize, 1usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for &b in bytes {
        if b == b'\n' {
            line += 1;
            column = 0;
        } else {
            column += 1;
        }
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return Some((line, column));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// The fields of a JSON object that tell its format.
#[derive(Deserialize)]
struct Peek {
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    mapping: Option<serde::de::IgnoredAny>,
}

/// Which format one JSON document holds (`None`: an empty array, any format).
fn format_of(name: &str, bytes: &[u8]) -> Result<Option<Format>, FileError> {
    let invalid = |what: String| FileError::Invalid(format!("{name}: {what}"));
    if let Some((line, column)) = too_deep(bytes, MAX_DEPTH) {
        return Err(invalid(format!(
            "nested deeper than {MAX_DEPTH} levels at line {line} column {column}"
        )));
    }
    // The fields that tell the format; parsing them reads (and checks) the whole value.
    let peek_at = |json: &[u8]| {
        serde_json::from_slice::<Peek>(json).map_err(|e| match e.classify() {
            // A field of the wrong type: unless the JSON is also malformed further on.
            serde_json::error::Category::Data => {
                match serde_json::from_slice::<serde::de::IgnoredAny>(json) {
                    Err(malformed) => invalid(malformed.to_string()),
                    Ok(_) => invalid(
                        "expected ChatGPT's conversations (objects with a mapping) or Confab \
                         chats"
                            .into(),
                    ),
                }
            }
            _ => invalid(e.to_string()),
        })
    };
    let peek = match first_byte(bytes) {
        Some(b'[') => {
            let all: Vec<&RawValue> =
                serde_json::from_slice(bytes).map_err(|e| invalid(e.to_string()))?;
            match all.first() {
                Some(first) => peek_at(first.get().as_bytes())?,
                None => return Ok(None),
            }
        }
        Some(b'{') => peek_at(bytes)?,
        _ => {
            // Not JSON: say what the parser says about its start.
            let err = serde_json::from_slice::<serde::de::IgnoredAny>(bytes)
                .err()
                .map_or_else(|| "not an array or an object".to_owned(), |e| e.to_string());
            return Err(FileError::Invalid(format!(
                "{name} is neither JSON nor a zip archive: {err}"
            )));
        }
    };
    match (peek.format.as_deref(), peek.mapping) {
        (Some(super::confab::FORMAT), _) => Ok(Some(Format::Confab)),
        (None, Some(_)) => Ok(Some(Format::Chatgpt)),
        (Some(other), _) => Err(invalid(format!(
            "format \"{other}\" is not one Confab imports (confab.chat)"
        ))),
        (None, None) => Err(invalid(
            "not a format Confab imports: expected ChatGPT's conversations.json (conversations \
             with a mapping) or a Confab export (format confab.chat)"
                .into(),
        )),
    }
}

/// Reads an upload of at most `limit` bytes (what a zip expands to is held to `limit` too).
pub fn read(name: &str, mut bytes: Bytes, limit: usize) -> Result<Upload, FileError> {
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        bytes = bytes.slice(3..);
    }
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        return read_zip(name, &bytes, limit);
    }
    let format = format_of(name, &bytes)?.unwrap_or(Format::Chatgpt);
    Ok(Upload {
        format,
        documents: vec![Document {
            name: name.to_owned(),
            bytes,
        }],
        folders: HashMap::new(),
        presets: Vec::new(),
    })
}

/// One entry, decompressed, within what is left of the budget.
fn entry(
    archive: &mut zip::ZipArchive<Cursor<&[u8]>>,
    index: usize,
    budget: &mut usize,
    limit: usize,
) -> Result<(String, Vec<u8>), FileError> {
    let file = archive
        .by_index(index)
        .map_err(|e| FileError::Invalid(format!("zip entry {index}: {e}")))?;
    let name = file.name().to_owned();
    if file.encrypted() {
        return Err(FileError::Invalid(format!(
            "{name}: encrypted entries are not read"
        )));
    }
    let too_large = || {
        FileError::TooLarge(format!(
            "the archive expands to more than {limit} bytes (MAX_IMPORT_BYTES) at {name}"
        ))
    };
    if usize::try_from(file.size()).map_or(true, |size| size > *budget) {
        return Err(too_large());
    }
    let mut out = Vec::new();
    file.take(*budget as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| FileError::Invalid(format!("{name}: cannot be decompressed: {e}")))?;
    if out.len() > *budget {
        return Err(too_large());
    }
    *budget -= out.len();
    Ok((name, out))
}

fn read_zip(name: &str, bytes: &[u8], limit: usize) -> Result<Upload, FileError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| FileError::Invalid(format!("{name} is not a readable zip archive: {e}")))?;
    if archive.len() > MAX_ENTRIES {
        return Err(FileError::Invalid(format!(
            "{name} lists more than {MAX_ENTRIES} entries"
        )));
    }
    let names: Vec<(usize, String)> = (0..archive.len())
        .filter_map(|i| archive.name_for_index(i).map(|n| (i, n.to_owned())))
        .collect();
    let base = |entry: &str| entry.rsplit('/').next().unwrap_or(entry).to_owned();
    let mut budget = limit;
    // ChatGPT's export: conversations.json (the shallowest, if several).
    if let Some((index, _)) = names
        .iter()
        .filter(|(_, n)| base(n) == "conversations.json")
        .min_by_key(|(_, n)| n.matches('/').count())
    {
        let (entry_name, content) = entry(&mut archive, *index, &mut budget, limit)?;
        let format = format_of(&entry_name, &content)?;
        if format == Some(Format::Confab) {
            return Err(FileError::Invalid(format!(
                "{entry_name}: holds Confab chats; expected ChatGPT's conversations"
            )));
        }
        return Ok(Upload {
            format: Format::Chatgpt,
            documents: vec![Document {
                name: entry_name,
                bytes: content.into(),
            }],
            folders: HashMap::new(),
            presets: Vec::new(),
        });
    }
    // Confab's account export: chats/{id}.json, and folders.json for the folders' names.
    let chats: Vec<usize> = names
        .iter()
        .filter(|(_, n)| {
            let mut parts = n.rsplitn(2, '/');
            let file = parts.next().unwrap_or_default();
            let dir = parts.next().unwrap_or_default();
            (dir == "chats" || dir.ends_with("/chats")) && file.ends_with(".json")
        })
        .map(|(i, _)| *i)
        .collect();
    if chats.is_empty() {
        return Err(FileError::Invalid(format!(
            "{name}: the archive holds neither conversations.json (ChatGPT) nor chats/*.json \
             (Confab)"
        )));
    }
    let mut documents = Vec::with_capacity(chats.len());
    for index in chats {
        let (entry_name, content) = entry(&mut archive, index, &mut budget, limit)?;
        match format_of(&entry_name, &content)? {
            Some(Format::Confab) | None => documents.push(Document {
                name: entry_name,
                bytes: content.into(),
            }),
            Some(Format::Chatgpt) => {
                return Err(FileError::Invalid(format!(
                    "{entry_name}: expected a Confab chat (format confab.chat)"
                )));
            }
        }
    }
    let mut folders = HashMap::new();
    if let Some((index, _)) = names.iter().find(|(_, n)| base(n) == "folders.json") {
        let (entry_name, content) = entry(&mut archive, *index, &mut budget, limit)?;
        #[derive(Deserialize)]
        struct Folder {
            id: String,
            name: String,
        }
        let list: Vec<Folder> = serde_json::from_slice(&content)
            .map_err(|e| FileError::Invalid(format!("{entry_name}: {e}")))?;
        folders = list.into_iter().map(|f| (f.id, f.name)).collect();
    }
    let mut presets = Vec::new();
    if let Some((index, _)) = names.iter().find(|(_, n)| base(n) == "presets.json") {
        let (entry_name, content) = entry(&mut archive, *index, &mut budget, limit)?;
        presets = serde_json::from_slice(&content)
            .map_err(|e| FileError::Invalid(format!("{entry_name}: {e}")))?;
    }
    Ok(Upload {
        format: Format::Confab,
        documents,
        folders,
        presets,
    })
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    fn read_str(text: &str) -> Result<Upload, FileError> {
        read("upload", Bytes::from(text.to_owned()), 1 << 20)
    }

    fn zip_of(entries: &[(&str, &[u8])]) -> Bytes {
        let mut out = Cursor::new(Vec::new());
        let mut zip = zip::ZipWriter::new(&mut out);
        for (name, content) in entries {
            zip.start_file(*name, zip::write::SimpleFileOptions::default())
                .expect("entry");
            zip.write_all(content).expect("write");
        }
        zip.finish().expect("finish");
        Bytes::from(out.into_inner())
    }

    fn invalid(result: Result<Upload, FileError>) -> String {
        match result {
            Err(FileError::Invalid(message)) => message,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn json_is_told_apart_by_its_content() {
        let chatgpt = read_str(r#" [{"id": "c", "mapping": {}}]"#).expect("reads");
        assert_eq!(chatgpt.format, Format::Chatgpt);
        assert_eq!(
            chatgpt.documents[0].conversations().expect("parses").len(),
            1
        );
        let confab = read_str(r#"{"format": "confab.chat", "version": 1}"#).expect("reads");
        assert_eq!(confab.format, Format::Confab);
        assert_eq!(read_str("[]").expect("reads").format, Format::Chatgpt);
        let bom = read_str("\u{feff}[{\"mapping\": {}}]").expect("a BOM is fine");
        assert_eq!(bom.format, Format::Chatgpt);
    }

    #[test]
    fn bad_json_says_where() {
        let message = invalid(read_str("[{\"mapping\": {}},\n  {\"x\": ]"));
        assert!(message.starts_with("upload: "), "{message}");
        assert!(message.contains("line 2 column"), "{message}");
        assert!(invalid(read_str("hello")).contains("neither JSON nor a zip"));
        assert!(invalid(read_str(r#"{"a": 1}"#)).contains("not a format Confab imports"));
        assert!(invalid(read_str(r#"{"format": "other"}"#)).contains("\"other\""));
        let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
        let message = invalid(read_str(&deep));
        assert!(
            message.contains("nested deeper than 64 levels at line 1 column 65"),
            "{message}"
        );
        // Brackets inside strings do not count.
        let quoted = format!(r#"[{{"mapping": {{}}, "t": "{}"}}]"#, "[".repeat(100));
        assert!(read_str(&quoted).is_ok());
    }

    #[test]
    fn zips_are_read_within_the_budget() {
        let chatgpt = zip_of(&[
            ("chat.html", b"<html></html>"),
            ("conversations.json", br#"[{"id": "c", "mapping": {}}]"#),
        ]);
        let upload = read("export.zip", chatgpt, 1 << 20).expect("reads");
        assert_eq!(upload.format, Format::Chatgpt);
        assert_eq!(upload.documents[0].name, "conversations.json");

        let confab = zip_of(&[
            ("manifest.json", b"{}"),
            (
                "chats/a.json",
                br#"{"format": "confab.chat", "version": 1}"#,
            ),
            (
                "chats/b.json",
                br#"{"format": "confab.chat", "version": 1}"#,
            ),
            (
                "folders.json",
                br#"[{"id": "f1", "name": "Work", "order": 0}]"#,
            ),
            (
                "presets.json",
                br#"[{"id": "p1", "name": "Terse", "parameters": {"temperature": 0.2}}]"#,
            ),
        ]);
        let upload = read("confab-export.zip", confab, 1 << 20).expect("reads");
        assert_eq!(upload.format, Format::Confab);
        assert_eq!(upload.documents.len(), 2);
        assert_eq!(upload.folders.get("f1").map(String::as_str), Some("Work"));
        assert_eq!(upload.presets[0].name, "Terse");

        // A bomb: 10 MB of zeros compresses to ~10 KB; the budget is 1 MB.
        let zeros = vec![b' '; 10 << 20];
        let bomb = zip_of(&[("conversations.json", &zeros)]);
        assert!(bomb.len() < 100_000);
        match read("bomb.zip", bomb, 1 << 20) {
            Err(FileError::TooLarge(message)) => {
                assert!(message.contains("conversations.json"), "{message}")
            }
            other => panic!("expected TooLarge, got {other:?}"),
        }

        assert!(invalid(read("x.zip", zip_of(&[("a.txt", b"hi")]), 1 << 20)).contains("neither"));
        let broken = Bytes::from_static(b"PK\x03\x04not really a zip");
        assert!(invalid(read("x.zip", broken, 1 << 20)).contains("not a readable zip"));
        let bad_entry = zip_of(&[("conversations.json", b"[{\"mapping\": ")]);
        assert!(invalid(read("x.zip", bad_entry, 1 << 20)).starts_with("conversations.json: "));
    }
}
