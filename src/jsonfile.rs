//! Reading untrusted JSON files in memory proportional to what they hold: the text is
//! streamed from the file (never held whole, never parsed into a `serde_json::Value`
//! tree) and read straight into the final structures by serde.
//!
//! A reader makes two streaming passes: the first checks that the whole text is UTF-8
//! and complete JSON and picks out the members that say what the file is (`format`,
//! `version`), ignoring everything else; the second reads the content, which is then
//! known to be well-formed JSON, so every error it meets is about the content.

use crate::grow::OutOfMemory;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::io::{BufReader, Read};
use std::path::Path;

/// Where the JSON text comes from.
#[derive(Clone, Copy)]
pub enum Source<'a> {
    Bytes(&'a [u8]),
    File(&'a Path),
}

/// Why a pass failed: the text could not be read, or serde refused it.
#[derive(Debug)]
pub enum Failure {
    Io(std::io::Error),
    /// Not UTF-8; the offset of the first bad byte.
    NotUtf8(u64),
    Json(serde_json::Error),
}

impl Failure {
    /// Whether the text itself is broken (bad syntax, cut short, not UTF-8), as opposed
    /// to well-formed JSON with the wrong content.
    pub fn is_syntax(&self) -> bool {
        match self {
            Failure::Io(_) => false,
            Failure::NotUtf8(_) => true,
            Failure::Json(e) => !e.is_data(),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Io(e) => write!(f, "{e}"),
            Failure::NotUtf8(at) => write!(f, "not UTF-8 text (byte {at})"),
            Failure::Json(e) => write!(f, "{e}"),
        }
    }
}

const CHUNK: usize = 1 << 16;

fn open(path: &Path) -> Result<BufReader<std::fs::File>, Failure> {
    Ok(BufReader::with_capacity(CHUNK, std::fs::File::open(path).map_err(Failure::Io)?))
}

/// Checks that the text is UTF-8, a chunk at a time.
pub fn check_utf8(source: Source<'_>) -> Result<(), Failure> {
    let mut file = match source {
        Source::Bytes(bytes) => {
            return std::str::from_utf8(bytes).map(|_| ()).map_err(|e| Failure::NotUtf8(e.valid_up_to() as u64))
        }
        Source::File(path) => std::fs::File::open(path).map_err(Failure::Io)?,
    };
    let mut buffer = vec![0u8; CHUNK];
    let (mut kept, mut offset) = (0usize, 0u64);
    loop {
        let read = file.read(&mut buffer[kept..]).map_err(Failure::Io)?;
        let filled = kept + read;
        match std::str::from_utf8(&buffer[..filled]) {
            Ok(_) => kept = 0,
            // A character cut by the end of the chunk: carried into the next one.
            Err(e) if e.error_len().is_none() && read > 0 => {
                let valid = e.valid_up_to();
                buffer.copy_within(valid..filled, 0);
                kept = filled - valid;
                offset += valid as u64;
                continue;
            }
            Err(e) => return Err(Failure::NotUtf8(offset + e.valid_up_to() as u64)),
        }
        offset += filled as u64;
        if read == 0 {
            return Ok(());
        }
    }
}

/// The first byte that is not white space, `None` for an empty (or blank) text.
pub fn first_byte(source: Source<'_>) -> Result<Option<u8>, Failure> {
    match source {
        Source::Bytes(bytes) => Ok(bytes.iter().copied().find(|b| !b.is_ascii_whitespace())),
        Source::File(path) => {
            let mut file = open(path)?;
            let mut byte = [0u8; 1];
            loop {
                if file.read(&mut byte).map_err(Failure::Io)? == 0 {
                    return Ok(None);
                }
                if !byte[0].is_ascii_whitespace() {
                    return Ok(Some(byte[0]));
                }
            }
        }
    }
}

/// Runs `seed` over the whole text, which must hold one JSON value and nothing else.
pub fn parse<S, T>(source: Source<'_>, seed: S) -> Result<T, Failure>
where
    S: for<'de> DeserializeSeed<'de, Value = T>,
{
    match source {
        Source::Bytes(bytes) => {
            let mut de = serde_json::Deserializer::from_slice(bytes);
            let value = seed.deserialize(&mut de).map_err(Failure::Json)?;
            de.end().map_err(Failure::Json)?;
            Ok(value)
        }
        Source::File(path) => {
            let mut de = serde_json::Deserializer::from_reader(open(path)?);
            let value = seed.deserialize(&mut de).map_err(Failure::Json)?;
            de.end().map_err(Failure::Json)?;
            Ok(value)
        }
    }
}

/// A small JSON value, described without building it.
#[derive(Clone, Debug, PartialEq)]
pub enum Scalar {
    Str(String),
    Unsigned(u64),
    /// Anything else, as a short description (`-1`, `1.5`, `true`, `an array`, ...).
    Other(String),
}

impl std::fmt::Display for Scalar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scalar::Str(s) if s.len() > 80 => write!(f, "a string of {} bytes", s.len()),
            Scalar::Str(s) => write!(f, "{s:?}"),
            Scalar::Unsigned(n) => write!(f, "{n}"),
            Scalar::Other(text) => f.write_str(text),
        }
    }
}

impl<'de> de::Deserialize<'de> for Scalar {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar::Str(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar, E> {
                Ok(Scalar::Str(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar::Unsigned(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar::Other(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar::Other(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar::Other(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
                Ok(Scalar::Other("null".to_owned()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other("an array".to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other("an object".to_owned()))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// What the first pass found: `None` when the JSON is not an object, else its
/// `format` and `version` members (`None` where missing).
pub type Identity = Option<(Option<Scalar>, Option<Scalar>)>;

/// The first pass: the whole text is checked to be one JSON value; of an object, only
/// `format` and `version` are kept.
pub struct IdentitySeed;

impl<'de> DeserializeSeed<'de> for IdentitySeed {
    type Value = Identity;
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Identity, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for IdentitySeed {
    type Value = Identity;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Identity, A::Error> {
        let (mut format, mut version) = (None, None);
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Format => format = Some(map.next_value::<Scalar>()?),
                Key::Version => version = Some(map.next_value::<Scalar>()?),
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Some((format, version)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Identity, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Identity, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Identity, E> {
        Ok(None)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Identity, E> {
        Ok(None)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Identity, E> {
        Ok(None)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Identity, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Identity, E> {
        Ok(None)
    }
}

/// A member name of the first pass, without keeping other names.
enum Key {
    Format,
    Version,
    Other,
}

impl<'de> de::Deserialize<'de> for Key {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Key;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a member name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                Ok(match v {
                    "format" => Key::Format,
                    "version" => Key::Version,
                    _ => Key::Other,
                })
            }
        }
        deserializer.deserialize_identifier(V)
    }
}

/// A seed for a plain `Deserialize` type, for [`parse`].
pub struct Plain<T>(std::marker::PhantomData<T>);

impl<T> Plain<T> {
    pub fn new() -> Plain<T> {
        Plain(std::marker::PhantomData)
    }
}

impl<'de, T: de::DeserializeOwned> DeserializeSeed<'de> for Plain<T> {
    type Value = T;
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<T, D::Error> {
        T::deserialize(deserializer)
    }
}

/// Pushes onto `vec`, growing it by an eighth at a time once it is large (not twice),
/// so that a long array read from a file takes little more room than its items. A
/// growth the allocator refuses is an error (`what` names the buffer), not an abort.
pub fn try_push_lean<T>(vec: &mut Vec<T>, item: T, what: &'static str) -> Result<(), OutOfMemory> {
    if vec.len() == vec.capacity() {
        let more = if vec.len() >= 1024 { vec.len() / 8 } else { vec.len().max(4) };
        vec.try_reserve_exact(more).map_err(|_| OutOfMemory(what))?;
    }
    vec.push(item);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(text: &str) -> Result<Identity, Failure> {
        parse(Source::Bytes(text.as_bytes()), IdentitySeed)
    }

    #[test]
    fn the_first_pass_keeps_only_the_identity() {
        let found = identity(r#"{"rows": [1, {"a": []}], "version": 1, "format": "x"}"#).unwrap();
        assert_eq!(found, Some((Some(Scalar::Str("x".into())), Some(Scalar::Unsigned(1)))));
        assert_eq!(identity("[1, 2]").unwrap(), None);
        assert_eq!(identity("12").unwrap(), None);
        assert_eq!(identity(r#"{"version": -1}"#).unwrap(), Some((None, Some(Scalar::Other("-1".into())))));
        assert!(identity(r#"{"format": "x""#).unwrap_err().is_syntax());
        assert!(identity(r#"{} {}"#).unwrap_err().is_syntax());
        assert!(identity("").unwrap_err().is_syntax());
    }

    #[test]
    fn utf8_is_checked_across_chunks() {
        let dir = std::env::temp_dir().join(format!("heapscope-utf8-{}", std::process::id()));
        let mut text = "a".repeat(CHUNK - 1).into_bytes();
        text.extend_from_slice("é and more".as_bytes());
        std::fs::write(&dir, &text).unwrap();
        assert!(check_utf8(Source::File(&dir)).is_ok());
        text.push(0xff);
        std::fs::write(&dir, &text).unwrap();
        assert!(matches!(check_utf8(Source::File(&dir)), Err(Failure::NotUtf8(_))));
        text.pop();
        text.extend_from_slice(&"é".as_bytes()[..1]);
        std::fs::write(&dir, &text).unwrap();
        assert!(matches!(check_utf8(Source::File(&dir)), Err(Failure::NotUtf8(_))));
        let _ = std::fs::remove_file(&dir);
    }

    #[test]
    fn lean_vectors_grow_by_an_eighth() {
        let mut v = Vec::new();
        for i in 0..100_000u32 {
            try_push_lean(&mut v, i, "a test list").unwrap();
        }
        assert!(v.capacity() <= 100_000 + 100_000 / 8 + 1024);
        assert_eq!(v[99_999], 99_999);
    }
}
