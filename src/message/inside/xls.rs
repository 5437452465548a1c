//! OLE2 files: old Excel workbooks (read through calamine; their hidden
//! columns, which calamine does not report, from the workbook stream's
//! COLINFO records), encrypted Office files of any age, old Word and
//! PowerPoint files (recognised, their text not read).

use super::office::{MAX_HIDDEN_RANGES, Table};
use super::{FileKind, Reader, Section};
use calamine::Reader as _;
use std::collections::HashMap;
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
            file.sections = sheets(bytes, &extent.hidden_columns);
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
    /// Each sheet's hidden column ranges (`(first, last)`, from 0), in the
    /// order of its BOUNDSHEET record, which is the order of calamine's
    /// sheets: calamine does not read COLINFO records.
    hidden_columns: Vec<Vec<(u32, u32)>>,
}

/// Walks the records of a workbook stream for the bounds of each sheet's
/// cells, its hidden columns and a FILEPASS record.
fn biff_extent(data: &[u8]) -> Extent {
    let mut extent = Extent {
        cells: 0,
        encrypted: false,
        hidden_columns: Vec::new(),
    };
    // Where each sheet's substream starts (its BOF record), from the
    // BOUNDSHEET records of the workbook's globals, which end at the first
    // EOF; and the sheet whose substream is being walked.
    let mut sheet_at: HashMap<usize, usize> = HashMap::new();
    let mut in_globals = true;
    let mut sheet: Option<usize> = None;
    let mut bounds: Option<(u16, u16, u16, u16)> = None;
    let close = |bounds: &mut Option<(u16, u16, u16, u16)>, extent: &mut Extent| {
        if let Some((r0, r1, c0, c1)) = bounds.take() {
            let area = (u64::from(r1 - r0) + 1) * (u64::from(c1 - c0) + 1);
            extent.cells = extent.cells.saturating_add(area);
        }
    };
    let mut at = 0usize;
    while let Some(header) = data.get(at..at + 4) {
        let start = at;
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
            // BOF, EOF: a sheet's records start and end. A BOF at no
            // sheet's offset starts a chart or another substream inside one.
            0x0809 | 0x000A => {
                close(&mut bounds, &mut extent);
                sheet = match kind {
                    0x0809 => sheet_at.get(&start).copied(),
                    _ => None,
                };
                in_globals &= kind == 0x0809;
                None
            }
            // BOUNDSHEET: a sheet's offset first (MS-XLS 2.4.28).
            0x0085 if in_globals => {
                if let Some(&[a, b, c, d]) = body.get(..4) {
                    let offset = u32::from_le_bytes([a, b, c, d]);
                    let index = extent.hidden_columns.len();
                    sheet_at.entry(offset as usize).or_insert(index);
                    extent.hidden_columns.push(Vec::new());
                }
                None
            }
            // COLINFO: a column range, hidden when bit 0 of its options
            // (fHidden) is set (MS-XLS 2.4.53).
            0x007D => {
                let hidden = sheet.and_then(|i| extent.hidden_columns.get_mut(i));
                if let (Some(hidden), Some(first), Some(last), Some(options)) =
                    (hidden, word(0), word(2), word(8))
                    && options & 1 == 1
                    && hidden.len() < MAX_HIDDEN_RANGES
                {
                    hidden.push((u32::from(first.min(last)), u32::from(first.max(last))));
                }
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

/// The sheets of an old Excel workbook, as tables, with the hidden column
/// ranges of each sheet in order.
fn sheets(bytes: &[u8], hidden_columns: &[Vec<(u32, u32)>]) -> Vec<Section> {
    let Ok(mut workbook) = calamine::Xls::new(Cursor::new(bytes)) else {
        return Vec::new();
    };
    let metadata: Vec<(String, bool)> = workbook
        .sheets_metadata()
        .iter()
        .map(|s| (s.name.clone(), s.visible != calamine::SheetVisible::Visible))
        .collect();
    let mut sections = Vec::new();
    for (i, (name, hidden)) in metadata.into_iter().enumerate() {
        let Ok(range) = workbook.worksheet_range(&name) else {
            continue;
        };
        let mut table = Table::default();
        // The grid starts at the first row and column with a cell.
        let first_column = range.start().map_or(0, |(_, column)| column);
        for row in range.rows() {
            for (column, cell) in (first_column..).zip(row) {
                table.cell(column, cell.to_string());
            }
            table.end_row();
        }
        let section = Section {
            name: Some(name),
            hidden,
            ..Section::default()
        };
        let hidden_columns = hidden_columns.get(i).map_or(&[][..], Vec::as_slice);
        sections.push(table.into_section(section, hidden_columns));
    }
    sections
}

#[cfg(test)]
mod tests {
    use super::biff_extent;

    fn record(kind: u16, body: &[u8]) -> Vec<u8> {
        let mut r = kind.to_le_bytes().to_vec();
        r.extend((body.len() as u16).to_le_bytes());
        r.extend(body);
        r
    }

    /// A COLINFO record for columns `first..=last` with these options.
    fn colinfo(first: u16, last: u16, options: u16) -> Vec<u8> {
        let words = [first, last, 2048, 15, options, 0];
        record(0x007D, &words.map(u16::to_le_bytes).concat())
    }

    #[test]
    fn hidden_columns_are_found_in_their_sheets_substream() {
        let bof = record(0x0809, &[0; 16]);
        let eof = record(0x000A, &[]);
        let boundsheet = |at: u32| {
            record(
                0x0085,
                &[&at.to_le_bytes()[..], &[0, 0, 1, 0, b'S']].concat(),
            )
        };
        // Globals: BOF, two BOUNDSHEETs, EOF; then the sheets.
        let globals_len = (bof.len() + 2 * boundsheet(0).len() + eof.len()) as u32;
        let first_len = (bof.len() + 2 * colinfo(0, 0, 0).len() + eof.len()) as u32;
        let stream = [
            bof.clone(),
            boundsheet(globals_len),
            boundsheet(globals_len + first_len),
            eof.clone(),
            // Sheet 0: C:D hidden, E widened only.
            bof.clone(),
            colinfo(2, 3, 1),
            colinfo(4, 4, 0x0100),
            eof.clone(),
            // Sheet 1: a chart inside it, whose records are not the sheet's.
            bof.clone(),
            colinfo(0, 0, 1),
            bof.clone(),
            colinfo(7, 7, 1),
            eof.clone(),
            eof.clone(),
            // A COLINFO outside any sheet, and one cut short.
            colinfo(9, 9, 1),
            record(0x007D, &[1, 0, 1]),
        ]
        .concat();
        let extent = biff_extent(&stream);
        assert_eq!(extent.hidden_columns, [vec![(2, 3)], vec![(0, 0)]]);
        // Any prefix of it, junk included, is walked without a panic.
        for end in 0..stream.len() {
            biff_extent(&stream[..end]);
            biff_extent(&stream[end..]);
        }
    }
}
