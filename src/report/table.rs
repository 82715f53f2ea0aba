//! Report tables. A row is one struct declared with [`row!`]: each field carries its column
//! header in both languages beside it, and its type says what the cell holds (text, number,
//! date, percentage). Every format renders the same rows: Markdown, CSV and plain text spell
//! the cells, a workbook keeps their types, and an HTML page can do either. Headers and cells
//! cannot fall out of step, because nothing lists them twice.
//!
//! ```text
//! row! {
//!     /// One renewed device.
//!     pub struct Renewed {
//!         device: String = col::DEVICE,
//!         renewed: NaiveDate = ("Renovado el", "Renewed on"),
//!         // One column per IPv6 stage, headed by the stage names.
//!         stages: [String; STAGES] = stage_headers,
//!         // The columns of another row, `{family}` in its headers filled in.
//!         ipv4: Health = Some(("family", "IPv4")),
//!     }
//! }
//! ```

use std::borrow::Cow;

use chrono::NaiveDate;

use super::i18n::{Lang, Strings, fill};
use super::text::{csv_record, md_table, number, percent_value, text_table};
use crate::inventory::{DeviceId, ProjectId, SiteId};

/// A column header: (Spanish, English).
pub type Header = (&'static str, &'static str);

/// The header in `lang`.
pub fn header(h: Header, lang: Lang) -> &'static str {
    match lang {
        Lang::Es => h.0,
        Lang::En => h.1,
    }
}

/// A placeholder filled in the headers of a nested row: `Some(("family", "IPv4"))`.
pub type Fill = Option<(&'static str, &'static str)>;

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
    /// A value that text formats spell as a phrase ("3 proyecto(s) implementado(s)") while a
    /// workbook keeps the value itself.
    Phrase(Box<Cell>, String),
    /// Nothing.
    Empty,
}

impl Cell {
    /// Text, or empty for an empty string.
    pub fn text(s: impl Into<String>) -> Cell {
        let s = s.into();
        if s.is_empty() { Cell::Empty } else { Cell::Text(s) }
    }

    /// A ratio as a percentage, or `absent` (text) without one.
    pub fn percent_or(ratio: Option<f64>, absent: &str) -> Cell {
        ratio.map_or_else(|| Cell::text(absent), Cell::Percent)
    }

    /// How text formats spell the cell: numbers without a useless fraction, dates as
    /// `YYYY-MM-DD`, percentages in the report's language.
    pub fn spell(&self, t: &Strings) -> String {
        match self {
            Cell::Text(s) | Cell::Phrase(_, s) => s.clone(),
            Cell::Number(n) => number(*n),
            Cell::Percent(p) => percent_value(t, p * 100.0),
            Cell::Date(d) => d.to_string(),
            Cell::Empty => String::new(),
        }
    }
}

/// A value that makes one cell; its type decides the cell's.
pub trait IntoCell {
    /// The cell.
    fn into_cell(self) -> Cell;
}

impl IntoCell for Cell {
    fn into_cell(self) -> Cell {
        self
    }
}

impl IntoCell for String {
    fn into_cell(self) -> Cell {
        Cell::text(self)
    }
}

impl IntoCell for &str {
    fn into_cell(self) -> Cell {
        Cell::text(self)
    }
}

/// Inventory ids are text cells.
macro_rules! id_cells {
    ($($t:ty),+) => {
        $(impl IntoCell for $t {
            fn into_cell(self) -> Cell {
                Cell::text(self.as_str())
            }
        })+
    };
}
id_cells!(DeviceId, SiteId, ProjectId);

impl IntoCell for NaiveDate {
    fn into_cell(self) -> Cell {
        Cell::Date(self)
    }
}

/// Numbers; integers are exact up to 2^53, far beyond any count here.
macro_rules! number_cells {
    ($($t:ty),+) => {
        $(impl IntoCell for $t {
            fn into_cell(self) -> Cell {
                Cell::Number(self as f64)
            }
        })+
    };
}
number_cells!(u32, u64, usize, i64, f64);

impl<T: IntoCell> IntoCell for Option<T> {
    fn into_cell(self) -> Cell {
        self.map_or(Cell::Empty, IntoCell::into_cell)
    }
}

/// What a field of a row contributes: one column, several, or a nested row's.
pub trait Columns {
    /// What names the columns: a [`Header`] for one cell, a function for an array of cells, a
    /// [`Fill`] for a nested row.
    type Heads;
    /// Appends the headers in `lang`.
    fn push_headers(heads: &Self::Heads, lang: Lang, out: &mut Vec<String>);
    /// Appends the cells.
    fn push_cells(self, out: &mut Vec<Cell>);
}

impl<T: IntoCell> Columns for T {
    type Heads = Header;
    fn push_headers(heads: &Header, lang: Lang, out: &mut Vec<String>) {
        out.push(header(*heads, lang).to_owned());
    }
    fn push_cells(self, out: &mut Vec<Cell>) {
        out.push(self.into_cell());
    }
}

/// One column per element, headed by a function of the language (the same length, checked by
/// the compiler).
impl<T: IntoCell, const N: usize> Columns for [T; N] {
    type Heads = fn(Lang) -> [Cow<'static, str>; N];
    fn push_headers(heads: &Self::Heads, lang: Lang, out: &mut Vec<String>) {
        out.extend(heads(lang).into_iter().map(Cow::into_owned));
    }
    fn push_cells(self, out: &mut Vec<Cell>) {
        out.extend(self.into_iter().map(IntoCell::into_cell));
    }
}

/// A table row: its headers and its cells, in the same order.
pub trait Row: Sized {
    /// The column headers in `lang`.
    fn headers(lang: Lang) -> Vec<String>;
    /// The cells.
    fn cells(self) -> Vec<Cell>;
}

/// Declares a row struct whose fields carry their column headers (see the module docs). Every
/// field is `name: Type = heads`; the struct implements [`Row`] and can be nested in another.
macro_rules! row {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $( $(#[$fmeta:meta])* $field:ident : $ty:ty = $heads:expr ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        $vis struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )+
        }

        impl $crate::report::table::Row for $name {
            fn headers(lang: $crate::report::Lang) -> Vec<String> {
                let mut out = Vec::new();
                $(
                    let heads: <$ty as $crate::report::table::Columns>::Heads = $heads;
                    <$ty as $crate::report::table::Columns>::push_headers(&heads, lang, &mut out);
                )+
                out
            }

            fn cells(self) -> Vec<$crate::report::table::Cell> {
                let mut out = Vec::new();
                $( $crate::report::table::Columns::push_cells(self.$field, &mut out); )+
                out
            }
        }

        impl $crate::report::table::Columns for $name {
            type Heads = $crate::report::table::Fill;
            fn push_headers(
                heads: &$crate::report::table::Fill,
                lang: $crate::report::Lang,
                out: &mut Vec<String>,
            ) {
                $crate::report::table::push_nested::<$name>(heads, lang, out);
            }
            fn push_cells(self, out: &mut Vec<$crate::report::table::Cell>) {
                out.extend($crate::report::table::Row::cells(self));
            }
        }
    };
}
pub(crate) use row;

/// The headers of a nested row, its placeholder filled.
pub fn push_nested<R: Row>(fill_with: &Fill, lang: Lang, out: &mut Vec<String>) {
    out.extend(R::headers(lang).into_iter().map(|h| match fill_with {
        Some((name, value)) => fill(&h, &[(name, value)]),
        None => h,
    }));
}

/// The rows' cells as text.
fn spelled<R: Row>(t: &Strings, rows: impl IntoIterator<Item = R>) -> Vec<Vec<String>> {
    rows.into_iter().map(|r| r.cells().iter().map(|c| c.spell(t)).collect()).collect()
}

/// Where a report's document goes: Markdown text (a `String`), or HTML for the console
/// ([`super::html::Html`]). Prose is written as Markdown lines through [`std::fmt::Write`];
/// tables go in as rows, so each format renders them from the same cells.
pub trait Doc: std::fmt::Write {
    /// Appends a table of `rows`.
    fn table<R: Row>(&mut self, lang: Lang, rows: impl IntoIterator<Item = R>);
}

impl Doc for String {
    fn table<R: Row>(&mut self, lang: Lang, rows: impl IntoIterator<Item = R>) {
        markdown(self, lang, rows);
    }
}

/// Rows as a Markdown table.
pub fn markdown<R: Row>(out: &mut String, lang: Lang, rows: impl IntoIterator<Item = R>) {
    md_table(out, &R::headers(lang), &spelled(lang.t(), rows));
}

/// Rows as a plain-text table.
pub fn text<R: Row>(out: &mut String, lang: Lang, rows: impl IntoIterator<Item = R>) {
    text_table(out, &R::headers(lang), &spelled(lang.t(), rows));
}

/// Rows as CSV records, the header first.
pub fn csv<R: Row>(out: &mut String, lang: Lang, rows: impl IntoIterator<Item = R>) {
    csv_record(out, &R::headers(lang));
    for row in spelled(lang.t(), rows) {
        csv_record(out, &row);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn halves(lang: Lang) -> [Cow<'static, str>; 2] {
        match lang {
            Lang::Es => ["primera".into(), "segunda".into()],
            Lang::En => ["first".into(), "second".into()],
        }
    }

    row! {
        /// A nested row whose headers name a placeholder.
        struct Inner {
            share: Cell = ("Parte {who}", "{who} share"),
        }
    }

    row! {
        /// Every kind of field.
        struct Sample {
            name: String = ("Nombre", "Name"),
            count: Option<u32> = ("Cantidad", "Count"),
            day: NaiveDate = ("Fecha", "Date"),
            halves: [u64; 2] = halves,
            inner: Inner = Some(("who", "A")),
        }
    }

    fn sample() -> Sample {
        Sample {
            name: "sw|1".into(),
            count: None,
            day: NaiveDate::from_ymd_opt(2026, 6, 30).unwrap(),
            halves: [6, 7],
            inner: Inner { share: Cell::Percent(0.5) },
        }
    }

    #[test]
    fn headers_follow_the_fields_in_both_languages() {
        assert_eq!(
            Sample::headers(Lang::Es),
            ["Nombre", "Cantidad", "Fecha", "primera", "segunda", "Parte A"]
        );
        assert_eq!(
            Sample::headers(Lang::En),
            ["Name", "Count", "Date", "first", "second", "A share"]
        );
    }

    #[test]
    fn cells_keep_their_types_and_text_formats_spell_them() {
        let cells = sample().cells();
        assert_eq!(
            cells,
            [
                Cell::Text("sw|1".into()),
                Cell::Empty,
                Cell::Date(NaiveDate::from_ymd_opt(2026, 6, 30).unwrap()),
                Cell::Number(6.0),
                Cell::Number(7.0),
                Cell::Percent(0.5),
            ]
        );
        let mut md = String::new();
        markdown(&mut md, Lang::Es, [sample()]);
        assert_eq!(
            md,
            "| Nombre | Cantidad | Fecha | primera | segunda | Parte A |\n\
             | --- | --- | --- | --- | --- | --- |\n\
             | sw\\|1 |  | 2026-06-30 | 6 | 7 | 50.0 % |\n"
        );
        let mut csv_out = String::new();
        csv(&mut csv_out, Lang::En, [sample()]);
        assert_eq!(
            csv_out,
            "Name,Count,Date,first,second,A share\r\nsw|1,,2026-06-30,6,7,50.0%\r\n"
        );
    }

    #[test]
    fn a_phrase_reads_as_its_text_and_keeps_its_value() {
        let c = Cell::Phrase(Box::new(Cell::Number(3.0)), "3 proyecto(s)".into());
        assert_eq!(c.spell(Lang::Es.t()), "3 proyecto(s)");
        assert_eq!(Cell::text(""), Cell::Empty);
    }
}
