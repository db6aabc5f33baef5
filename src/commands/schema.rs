//! `porttune schema [DOCUMENT] | --dir DIR`: the JSON Schema of each JSON document, from the
//! types that print it (so the schema of the binary installed is the one its output follows).

use std::path::Path;

use crate::cli::SchemaArgs;
use crate::error::{Error, Result, exit};
use crate::render::schema::{DOCUMENTS, schema};

fn text(doc: &str) -> Result<String> {
    let v = schema(doc).ok_or_else(|| Error::Usage(format!("schema {doc}: no such document")))?;
    Ok(serde_json::to_string_pretty(&v).unwrap_or_default() + "\n")
}

pub fn run(a: &SchemaArgs) -> Result<i32> {
    if let Some(dir) = &a.dir {
        return write_all(dir);
    }
    match &a.document {
        Some(doc) => crate::out!("{}", text(doc)?),
        None => {
            crate::outln!("Documents (`porttune schema NAME`, or all: `--dir DIR`):");
            for d in DOCUMENTS {
                crate::outln!("  {d}");
            }
        }
    }
    Ok(exit::OK)
}

fn write_all(dir: &Path) -> Result<i32> {
    super::create_output_dir(dir, "schema")?;
    for doc in DOCUMENTS {
        let path = dir.join(format!("{doc}.schema.json"));
        crate::fsio::write_output(&path, text(doc)?.as_bytes(), "the schema")?;
        crate::outln!("{}", path.display());
    }
    Ok(exit::OK)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_offers_every_document() {
        assert_eq!(crate::cli::SCHEMA_DOCUMENTS, super::DOCUMENTS);
        for d in super::DOCUMENTS {
            assert!(super::schema(d).is_some(), "{d}");
        }
    }
}
