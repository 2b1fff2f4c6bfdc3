//! `S<T>`: a value with the place in the YAML file it came from.
//!
//! Every user-written value that validation may complain about is wrapped in
//! `S<T>`, so a semantic error ("`port` does not apply to `send`") can point
//! at the line and column like a syntax error does. It wraps serde-saphyr's
//! `Spanned<T>` and forwards its JSON Schema to `T`, so the schema that
//! editors see is the plain shape of the format.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Deserialize;

/// A 1-based line and column in a source file (0 when unknown).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Loc {
    pub line: u32,
    pub column: u32,
}

impl Loc {
    pub fn from_saphyr(location: serde_saphyr::Location) -> Loc {
        Loc {
            line: location.line() as u32,
            column: location.column() as u32,
        }
    }
}

/// A deserialized value and where it was written.
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct S<T>(pub serde_saphyr::Spanned<T>);

impl<T> S<T> {
    pub fn value(&self) -> &T {
        &self.0.value
    }
    pub fn loc(&self) -> Loc {
        Loc::from_saphyr(self.0.referenced)
    }
}

impl<T: JsonSchema> JsonSchema for S<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }
    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::json_schema(generator)
    }
}

/// A scalar written as text, a number or a boolean, kept as text.
///
/// Command-line arguments, ports and expected output are all text in the
/// end; letting `args: [9000]` mean `"9000"` saves quoting noise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text(pub String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl serde::de::Visitor<'_> for TextVisitor {
            type Value = Text;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string, a number or a boolean")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
        }
        deserializer.deserialize_any(TextVisitor)
    }
}

impl JsonSchema for Text {
    fn schema_name() -> Cow<'static, str> {
        "Text".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        schemars::json_schema!({
            "type": ["string", "number", "boolean"],
            "description": "Text; numbers and booleans are taken as their text. May contain {{placeholders}}."
        })
    }
}
