//! Reports as HTML, for the console. The report functions write one document: prose as
//! Markdown lines (`# title`, `## section`, `- item`, `**bold**`, a line ending in two spaces
//! breaks), tables as rows. [`Html`] turns the prose lines into elements and renders each
//! table from its rows' cells, the cells the Markdown, CSV and XLSX writers use. Every text is
//! escaped by maud.

use maud::{Markup, html};

use super::i18n::Lang;
use super::table::{Cell, Doc, Row};

/// An HTML document being written.
#[derive(Debug, Default)]
pub struct Html {
    out: String,
    /// Prose not yet turned into elements.
    prose: String,
}

impl std::fmt::Write for Html {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.prose.push_str(s);
        Ok(())
    }
}

impl Doc for Html {
    fn table<R: Row>(&mut self, lang: Lang, rows: impl IntoIterator<Item = R>) {
        self.flush();
        self.out.push_str(&table(lang, rows).into_string());
    }
}

impl Html {
    /// The HTML written.
    pub fn finish(mut self) -> String {
        self.flush();
        self.out
    }

    fn flush(&mut self) {
        let prose = std::mem::take(&mut self.prose);
        self.out.push_str(&prose_html(&prose).into_string());
    }
}

/// Rows as an HTML table: a header row, then one row per record; numbers and percentages
/// carry the class `num` (right-aligned).
pub fn table<R: Row>(lang: Lang, rows: impl IntoIterator<Item = R>) -> Markup {
    let t = lang.t();
    let headers = R::headers(lang);
    let rows: Vec<Vec<Cell>> = rows.into_iter().map(Row::cells).collect();
    html! {
        div.table-wrap {
            table {
                thead { tr { @for h in &headers { th scope="col" { (h) } } } }
                tbody {
                    @for row in &rows {
                        tr {
                            @for c in row {
                                @if numeric(c) { td.num { (c.spell(t)) } } @else { td { (c.spell(t)) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn numeric(c: &Cell) -> bool {
    match c {
        Cell::Number(_) | Cell::Percent(_) => true,
        Cell::Phrase(inner, _) => numeric(inner),
        _ => false,
    }
}

/// A block of prose.
enum Block {
    Heading(u8, String),
    Para(Vec<String>),
    List(Vec<String>),
}

/// Markdown prose lines as blocks: headings, lists, paragraphs (blank lines separate them).
fn blocks(prose: &str) -> Vec<Block> {
    let mut out: Vec<Block> = Vec::new();
    let mut open = false;
    for line in prose.lines() {
        if line.trim().is_empty() {
            open = false;
            continue;
        }
        let level = line.bytes().take_while(|b| *b == b'#').count();
        if (1..=6).contains(&level) && line.as_bytes().get(level) == Some(&b' ') {
            out.push(Block::Heading(level as u8, line[level + 1..].trim().to_owned()));
            open = false;
        } else if let Some(item) = line.strip_prefix("- ") {
            match out.last_mut() {
                Some(Block::List(items)) if open => items.push(item.to_owned()),
                _ => out.push(Block::List(vec![item.to_owned()])),
            }
            open = true;
        } else {
            let text = line.trim_end().to_owned();
            match out.last_mut() {
                Some(Block::Para(lines)) if open => lines.push(text),
                _ => out.push(Block::Para(vec![text])),
            }
            open = true;
        }
    }
    out
}

/// `**bold**` spans of a line: (text, bold) pieces.
fn spans(line: &str) -> Vec<(&str, bool)> {
    let mut out = Vec::new();
    let mut bold = false;
    for (i, piece) in line.split("**").enumerate() {
        if i > 0 {
            bold = !bold;
        }
        if !piece.is_empty() {
            out.push((piece, bold));
        }
    }
    out
}

fn inline(line: &str) -> Markup {
    html! {
        @for (text, bold) in spans(line) {
            @if bold { strong { (text) } } @else { (text) }
        }
    }
}

fn prose_html(prose: &str) -> Markup {
    html! {
        @for b in blocks(prose) {
            @match b {
                Block::Heading(1, text) => h2 { (inline(&text)) },
                Block::Heading(2, text) => h3 { (inline(&text)) },
                Block::Heading(_, text) => h4 { (inline(&text)) },
                Block::Para(lines) => p {
                    @for (i, l) in lines.iter().enumerate() {
                        @if i > 0 { br; }
                        (inline(l))
                    }
                },
                Block::List(items) => ul { @for item in &items { li { (inline(item)) } } },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::table::row;
    use std::fmt::Write;

    row! {
        /// A row for the test.
        struct Sample {
            name: String = ("Nombre", "Name"),
            share: Cell = ("Parte", "Share"),
        }
    }

    #[test]
    fn prose_becomes_elements_and_tables_come_from_the_rows() {
        let mut doc = Html::default();
        let _ = writeln!(doc, "# Título <b>\n\nuna línea  \notra **fuerte**\n\n- a\n- b & c\n");
        doc.table(
            Lang::Es,
            [Sample { name: "<script>x</script>".into(), share: Cell::Percent(0.5) }],
        );
        let _ = writeln!(doc, "\n## Reglas\n");
        let html = doc.finish();
        assert_eq!(
            html,
            "<h2>Título &lt;b&gt;</h2><p>una línea<br>otra <strong>fuerte</strong></p>\
             <ul><li>a</li><li>b &amp; c</li></ul>\
             <div class=\"table-wrap\"><table><thead><tr><th scope=\"col\">Nombre</th>\
             <th scope=\"col\">Parte</th></tr></thead><tbody><tr>\
             <td>&lt;script&gt;x&lt;/script&gt;</td><td class=\"num\">50.0 %</td></tr></tbody>\
             </table></div><h3>Reglas</h3>"
        );
    }
}
