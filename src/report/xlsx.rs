//! Workbooks for office spreadsheets: every sheet is a table with a bold, frozen header row and
//! an autofilter; cells are typed (dates are dates, numbers are numbers, ratios are percentages).

use chrono::{DateTime, Utc};
use rust_xlsxwriter::{DocProperties, Format, Workbook, Worksheet, XlsxError};

use super::i18n::Lang;
use super::table::{Cell, Row};

/// Characters a cell takes on screen, for the column width.
fn width(cell: &Cell) -> usize {
    match cell {
        Cell::Text(s) => s.chars().count(),
        Cell::Number(n) => n.to_string().len(),
        Cell::Percent(_) => 7,
        Cell::Date(_) => 10,
        Cell::Phrase(value, _) => width(value),
        Cell::Empty => 0,
    }
}

/// Widest a column is made, in characters; longer text stays in the cell.
const MAX_WIDTH: usize = 60;

/// A workbook being written.
pub struct Book {
    wb: Workbook,
    header: Format,
    date: Format,
    percent: Format,
}

impl Book {
    /// A new workbook whose creation time is `created` (so the same report gives the same file).
    pub fn new(created: DateTime<Utc>) -> Book {
        let mut wb = Workbook::new();
        wb.set_properties(&DocProperties::new().set_creation_datetime(&created));
        Book {
            wb,
            header: Format::new().set_bold(),
            date: Format::new().set_num_format("yyyy-mm-dd"),
            percent: Format::new().set_num_format("0.0%"),
        }
    }

    /// Add a sheet named `name` holding `rows` as a table.
    pub fn sheet<R: Row>(
        &mut self,
        name: &str,
        lang: Lang,
        rows: impl IntoIterator<Item = R>,
    ) -> Result<(), XlsxError> {
        let rows: Vec<Vec<Cell>> = rows.into_iter().map(Row::cells).collect();
        self.table(name, &R::headers(lang), &rows)
    }

    /// Add a sheet holding one table.
    fn table(
        &mut self,
        name: &str,
        headers: &[String],
        rows: &[Vec<Cell>],
    ) -> Result<(), XlsxError> {
        let ws = self.wb.add_worksheet();
        ws.set_name(name)?;
        let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
        for (c, h) in headers.iter().enumerate() {
            ws.write_string_with_format(0, col(c), h, &self.header)?;
        }
        for (r, row) in rows.iter().enumerate() {
            let r = u32::try_from(r + 1).map_err(|_| XlsxError::RowColumnLimitError)?;
            for (c, cell) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(c) {
                    *w = (*w).max(width(cell));
                }
                write_cell(ws, (&self.date, &self.percent), r, col(c), cell)?;
            }
        }
        for (c, w) in widths.iter().enumerate() {
            ws.set_column_width(col(c), ((*w).min(MAX_WIDTH) + 2) as f64)?;
        }
        ws.set_freeze_panes(1, 0)?;
        let last_row = u32::try_from(rows.len()).map_err(|_| XlsxError::RowColumnLimitError)?;
        ws.autofilter(0, 0, last_row, col(headers.len().saturating_sub(1)))?;
        Ok(())
    }

    /// The workbook's bytes.
    pub fn finish(mut self) -> Result<Vec<u8>, XlsxError> {
        self.wb.save_to_buffer()
    }
}

/// Writes one typed cell.
fn write_cell(
    ws: &mut Worksheet,
    formats: (&Format, &Format),
    r: u32,
    c: u16,
    cell: &Cell,
) -> Result<(), XlsxError> {
    let (date, percent) = formats;
    match cell {
        Cell::Text(s) => {
            ws.write_string(r, c, s)?;
        }
        Cell::Number(n) => {
            ws.write_number(r, c, *n)?;
        }
        Cell::Percent(p) => {
            ws.write_number_with_format(r, c, *p, percent)?;
        }
        Cell::Date(d) => {
            ws.write_datetime_with_format(r, c, d, date)?;
        }
        Cell::Phrase(value, _) => write_cell(ws, formats, r, c, value)?,
        Cell::Empty => {}
    }
    Ok(())
}

fn col(c: usize) -> u16 {
    u16::try_from(c).unwrap_or(u16::MAX)
}
