//! Documents the engine cannot read inside: a PDF, an Office file, an archive or a database
//! sent as base64 or hex (an Anthropic `document` block, an OpenAI `file_data`, a tool result
//! that carries a file).
//!
//! Their text sits in compressed streams or binary pages, where neither the rules nor the
//! entropy layer can see a secret (the registry sees one only if it is stored uncompressed).
//! This module recognises them by their first bytes and nothing more: what to do about one is
//! the caller's decision (the proxy refuses them unless the operator allows them). Images and
//! audio are media, not containers: they pass, and the registry still scans them.

use std::ops::Range;

/// A kind of document whose content the engine cannot inspect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ContainerKind {
    /// `%PDF-`: text in (usually deflated) content streams.
    Pdf,
    /// ZIP, and the formats built on it: .docx, .xlsx, .pptx, .odt, .jar, .apk.
    Zip,
    /// OLE2 compound files: .doc, .xls, .ppt, .msg.
    LegacyOffice,
    /// gzip (also .tar.gz).
    Gzip,
    /// 7-Zip.
    SevenZip,
    /// RAR.
    Rar,
    /// bzip2.
    Bzip2,
    /// xz.
    Xz,
    /// Zstandard.
    Zstd,
    /// An SQLite database file.
    Sqlite,
}

impl ContainerKind {
    /// What it is, for error messages and logs.
    pub fn name(self) -> &'static str {
        match self {
            ContainerKind::Pdf => "a PDF document",
            ContainerKind::Zip => "a ZIP archive or Office document (.docx, .xlsx, .pptx, .odt)",
            ContainerKind::LegacyOffice => "a legacy Office document (.doc, .xls, .ppt, .msg)",
            ContainerKind::Gzip => "a gzip-compressed file",
            ContainerKind::SevenZip => "a 7-Zip archive",
            ContainerKind::Rar => "a RAR archive",
            ContainerKind::Bzip2 => "a bzip2-compressed file",
            ContainerKind::Xz => "an xz-compressed file",
            ContainerKind::Zstd => "a zstd-compressed file",
            ContainerKind::Sqlite => "an SQLite database",
        }
    }

    /// A stable machine-readable name, for metrics and JSON output.
    pub fn code(self) -> &'static str {
        match self {
            ContainerKind::Pdf => "pdf",
            ContainerKind::Zip => "zip",
            ContainerKind::LegacyOffice => "ole2",
            ContainerKind::Gzip => "gzip",
            ContainerKind::SevenZip => "7z",
            ContainerKind::Rar => "rar",
            ContainerKind::Bzip2 => "bzip2",
            ContainerKind::Xz => "xz",
            ContainerKind::Zstd => "zstd",
            ContainerKind::Sqlite => "sqlite",
        }
    }

    /// The kind whose signature `head` (a run's first decoded bytes) starts with.
    pub(crate) fn of(head: &[u8]) -> Option<Self> {
        const SIGNATURES: &[(&[u8], ContainerKind)] = &[
            (b"%PDF-", ContainerKind::Pdf),
            (b"PK\x03\x04", ContainerKind::Zip),
            (b"PK\x05\x06", ContainerKind::Zip),
            (b"PK\x07\x08", ContainerKind::Zip),
            (
                b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
                ContainerKind::LegacyOffice,
            ),
            (b"\x1f\x8b\x08", ContainerKind::Gzip),
            (b"7z\xbc\xaf\x27\x1c", ContainerKind::SevenZip),
            (b"Rar!\x1a\x07", ContainerKind::Rar),
            (b"\xfd7zXZ\x00", ContainerKind::Xz),
            (b"\x28\xb5\x2f\xfd", ContainerKind::Zstd),
            (b"SQLite format 3\x00", ContainerKind::Sqlite),
        ];
        if let Some(&(_, kind)) = SIGNATURES.iter().find(|(s, _)| head.starts_with(s)) {
            return Some(kind);
        }
        // bzip2: `BZh`, a block size digit, then the block magic (pi's digits in BCD).
        match head {
            [b'B', b'Z', b'h', b'1'..=b'9', 0x31, 0x41, 0x59, 0x26, 0x53, 0x59, ..] => {
                Some(ContainerKind::Bzip2)
            }
            _ => None,
        }
    }
}

/// One document found in the input: what it is and where its encoded bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    /// What kind of document.
    pub kind: ContainerKind,
    /// Its encoded bytes in the input.
    pub span: Range<usize>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_recognised_and_media_is_not() {
        assert_eq!(
            ContainerKind::of(b"%PDF-1.7\n%\xe2\xe3"),
            Some(ContainerKind::Pdf)
        );
        assert_eq!(
            ContainerKind::of(b"PK\x03\x04\x14\x00\x06\x00"),
            Some(ContainerKind::Zip)
        );
        assert_eq!(
            ContainerKind::of(b"BZh91AY&SY\x01\x02"),
            Some(ContainerKind::Bzip2)
        );
        assert_eq!(ContainerKind::of(b"BZh is not bzip2"), None);
        // PNG, JPEG, GIF, WAV, MP3, OGG: media.
        for media in [
            &b"\x89PNG\r\n\x1a\n"[..],
            b"\xff\xd8\xff\xe0\x00\x10JFIF",
            b"GIF89a",
            b"RIFF\x24\x08\x00\x00WAVEfmt ",
            b"ID3\x04\x00",
            b"OggS\x00\x02",
        ] {
            assert_eq!(ContainerKind::of(media), None);
        }
    }
}
