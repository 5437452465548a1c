//! OLE2 files: old Excel workbooks (read through calamine), encrypted
//! Office files of any age, old Word and PowerPoint files (recognised,
//! their text not read).

use super::{FileKind, Reader, Section};
use calamine::Reader as _;
use std::io::{Cursor, Read};

/// Bytes charged per cell of the grid calamine builds for a sheet: the
/// size of its cell value.
const CELL_BYTES: u64 = std::mem::size_of::<calamine::Data>() as u64;

pub(super) fn read_ole2(reader: &mut Reader, path: &str, bytes: &[u8], depth: u32) {
    let Ok(mut ole) = cfb::CompoundFile::open(Cursor::new(bytes)) else {
        reader.push(reader.file(path, FileKind::Other, bytes.len(), depth));
        return;
    };
    let name_kind = super::office::kind_by_name(path);
    // An encrypted xlsx, docx or pptx is an OLE2 file holding the
    // encrypted zip (MS-OFFCRYPTO).
    if ole.exists("/EncryptedPackage") {
        let kind = match name_kind {
            FileKind::Other | FileKind::Archive => FileKind::Document,
            kind => kind,
        };
        let mut file = reader.file(path, kind, bytes.len(), depth);
        file.encrypted = true;
        reader.push(file);
        return;
    }
    let stream = |ole: &mut cfb::CompoundFile<Cursor<&[u8]>>, name: &str| {
        let mut data = Vec::new();
        let stream = ole.open_stream(name).ok()?;
        // A stream is never larger than the file holding it.
        stream
            .take(bytes.len() as u64)
            .read_to_end(&mut data)
            .ok()?;
        Some(data)
    };
    let workbook = ["/Workbook", "/Book"]
        .into_iter()
        .find(|name| ole.exists(name));
    if let Some(name) = workbook {
        let data = stream(&mut ole, name).unwrap_or_default();
        let mut file = reader.file(path, FileKind::Spreadsheet, bytes.len(), depth);
        let extent = biff_extent(&data);
        file.encrypted = extent.encrypted;
        if !file.encrypted
            && reader.spend(
                usize::try_from(extent.cells.saturating_mul(CELL_BYTES)).unwrap_or(usize::MAX),
                path,
            )
        {
            file.sections = sheets(bytes);
        }
        reader.push(file);
        return;
    }
    if ole.exists("/WordDocument") {
        let mut file = reader.file(path, FileKind::Document, bytes.len(), depth);
        // The FIB's flags: fEncrypted is bit 8 of the word at 0x0A.
        let fib = stream(&mut ole, "/WordDocument").unwrap_or_default();
        file.encrypted = fib
            .get(0x0A..0x0C)
            .is_some_and(|f| u16::from_le_bytes([f[0], f[1]]) & 0x0100 != 0);
        reader.push(file);
        return;
    }
    if ole.exists("/PowerPoint Document") {
        let mut file = reader.file(path, FileKind::Presentation, bytes.len(), depth);
        file.encrypted = ole.exists("/EncryptedSummary");
        reader.push(file);
        return;
    }
    reader.push(reader.file(path, name_kind, bytes.len(), depth));
}

/// What a BIFF workbook stream says of itself before calamine reads it.
struct Extent {
    /// The cells of the grids calamine will build, every sheet's from its
    /// first row and column with a cell to its last.
    cells: u64,
    /// A FILEPASS record: the workbook is encrypted.
    encrypted: bool,
}

/// Walks the records of a workbook stream for the bounds of each sheet's
/// cells and a FILEPASS record.
fn biff_extent(data: &[u8]) -> Extent {
    let mut extent = Extent {
        cells: 0,
        encrypted: false,
    };
    let mut bounds: Option<(u16, u16, u16, u16)> = None;
    let close = |bounds: &mut Option<(u16, u16, u16, u16)>, extent: &mut Extent| {
        if let Some((r0, r1, c0, c1)) = bounds.take() {
            let area = (u64::from(r1 - r0) + 1) * (u64::from(c1 - c0) + 1);
            extent.cells = extent.cells.saturating_add(area);
        }
    };
    let mut at = 0usize;
    while let Some(header) = data.get(at..at + 4) {
        let kind = u16::from_le_bytes([header[0], header[1]]);
        let len = usize::from(u16::from_le_bytes([header[2], header[3]]));
        let body = data.get(at + 4..at + 4 + len).unwrap_or_default();
        at += 4 + len;
        let word = |i: usize| body.get(i..i + 2).map(|w| u16::from_le_bytes([w[0], w[1]]));
        let cell = match kind {
            // FILEPASS
            0x002F => {
                extent.encrypted = true;
                None
            }
            // BOF, EOF: a sheet's records start and end.
            0x0809 | 0x000A => {
                close(&mut bounds, &mut extent);
                None
            }
            // MULRK, MULBLANK: a row of cells, the last column at the end.
            0x00BD | 0x00BE => match (word(0), word(2), body.len().checked_sub(2).and_then(word)) {
                (Some(row), Some(first), Some(last)) => {
                    Some((row, first.min(last), first.max(last)))
                }
                _ => None,
            },
            // NUMBER, RK, LABELSST, LABEL, FORMULA, BLANK, BOOLERR, RSTRING
            0x0203 | 0x027E | 0x00FD | 0x0204 | 0x0006 | 0x0201 | 0x0205 | 0x00D6 => {
                match (word(0), word(2)) {
                    (Some(row), Some(column)) => Some((row, column, column)),
                    _ => None,
                }
            }
            _ => None,
        };
        if let Some((row, c0, c1)) = cell {
            bounds = Some(match bounds {
                Some((r0, r1, a, b)) => (r0.min(row), r1.max(row), a.min(c0), b.max(c1)),
                None => (row, row, c0, c1),
            });
        }
    }
    close(&mut bounds, &mut extent);
    extent
}

/// The sheets of an old Excel workbook, as tables.
fn sheets(bytes: &[u8]) -> Vec<Section> {
    let Ok(mut workbook) = calamine::Xls::new(Cursor::new(bytes)) else {
        return Vec::new();
    };
    let metadata: Vec<(String, bool)> = workbook
        .sheets_metadata()
        .iter()
        .map(|s| (s.name.clone(), s.visible != calamine::SheetVisible::Visible))
        .collect();
    let mut sections = Vec::new();
    for (name, hidden) in metadata {
        let Ok(range) = workbook.worksheet_range(&name) else {
            continue;
        };
        let mut text = String::new();
        let mut rows = 0;
        for row in range.rows() {
            let cells: Vec<String> = row
                .iter()
                .map(|c| c.to_string().replace(['\t', '\n', '\r'], " "))
                .collect();
            if cells.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            rows += 1;
            text.push_str(cells.join("\t").trim_end_matches('\t'));
            text.push('\n');
        }
        sections.push(Section {
            name: Some(name),
            hidden,
            text,
            rows,
            separator: Some('\t'),
            hidden_columns: Vec::new(),
        });
    }
    sections
}
