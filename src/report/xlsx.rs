//! Workbooks for office spreadsheets: every sheet is a table with a bold, frozen header row and
//! an autofilter; cells are typed (dates are dates, numbers are numbers, ratios are percentages).

use chrono::{DateTime, NaiveDate, Utc};
use rust_xlsxwriter::{DocProperties, Format, Workbook, XlsxError};

/// A typed cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text.
    Text(String),
    /// A number.
    Number(f64),
    /// A ratio (0-1), shown as a percentage.
    Percent(f64),
    /// A date.
    Date(NaiveDate),
    /// Nothing.
    Empty,
}

impl Cell {
    /// Text, or empty for an empty string.
    pub fn text(s: impl Into<String>) -> Cell {
        let s = s.into();
        if s.is_empty() { Cell::Empty } else { Cell::Text(s) }
    }

    /// Optional text.
    pub fn opt_text(s: &Option<String>) -> Cell {
        s.as_ref().map_or(Cell::Empty, |s| Cell::text(s.clone()))
    }

    /// Optional number.
    pub fn opt_num<T: Into<f64>>(n: Option<T>) -> Cell {
        n.map_or(Cell::Empty, |n| Cell::Number(n.into()))
    }

    /// An integer (days, counts) as a number; precise to 2^53, far beyond any count here.
    pub fn int(n: i64) -> Cell {
        Cell::Number(n as f64)
    }

    /// Optional date.
    pub fn opt_date(d: Option<NaiveDate>) -> Cell {
        d.map_or(Cell::Empty, Cell::Date)
    }

    /// Optional ratio.
    pub fn opt_percent(r: Option<f64>) -> Cell {
        r.map_or(Cell::Empty, Cell::Percent)
    }

    fn width(&self) -> usize {
        match self {
            Cell::Text(s) => s.chars().count(),
            Cell::Number(n) => n.to_string().len(),
            Cell::Percent(_) => 7,
            Cell::Date(_) => 10,
            Cell::Empty => 0,
        }
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

    /// Add a sheet holding one table.
    pub fn table(
        &mut self,
        name: &str,
        headers: &[&str],
        rows: &[Vec<Cell>],
    ) -> Result<(), XlsxError> {
        let ws = self.wb.add_worksheet();
        ws.set_name(name)?;
        let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
        for (c, h) in headers.iter().enumerate() {
            ws.write_string_with_format(0, col(c), *h, &self.header)?;
        }
        for (r, row) in rows.iter().enumerate() {
            let r = u32::try_from(r + 1).map_err(|_| XlsxError::RowColumnLimitError)?;
            for (c, cell) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(c) {
                    *w = (*w).max(cell.width());
                }
                let c = col(c);
                match cell {
                    Cell::Text(s) => {
                        ws.write_string(r, c, s)?;
                    }
                    Cell::Number(n) => {
                        ws.write_number(r, c, *n)?;
                    }
                    Cell::Percent(p) => {
                        ws.write_number_with_format(r, c, *p, &self.percent)?;
                    }
                    Cell::Date(d) => {
                        ws.write_datetime_with_format(r, c, d, &self.date)?;
                    }
                    Cell::Empty => {}
                }
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

fn col(c: usize) -> u16 {
    u16::try_from(c).unwrap_or(u16::MAX)
}
