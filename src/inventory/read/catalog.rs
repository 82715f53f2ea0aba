//! Reading the inventory's life-cycle catalogue (`catalog:` entries, see
//! [`crate::inventory::catalog`]), with the same positioned diagnostics as the rest.

use std::collections::HashMap;

use super::{Cx, Fields, Item, Node, Value, items};
use crate::inventory::catalog::{Catalog, CatalogEntry, key, overlap};
use crate::poll::vendor;

/// Read a `catalog:` list into `out`.
pub(super) fn read(cx: &mut Cx, out: &mut Vec<Item<CatalogEntry>>, node: &Node) {
    for (i, n) in items(cx, node, "catalog").iter().enumerate() {
        if let Some(e) = read_entry(cx, n, i) {
            out.push(e);
        }
    }
}

/// `catalog[3] (Fortinet FortiGate 5*)`, or `catalog[3]` while vendor or model is missing.
fn label(node: &Node, i: usize) -> String {
    let field = |name: &str| match &node.value {
        Value::Map(m) => m
            .iter()
            .find(|(k, _)| k.scalar() == Some(name))
            .and_then(|(_, v)| v.scalar())
            .filter(|t| !t.trim().is_empty()),
        _ => None,
    };
    match (field("vendor"), field("model")) {
        (Some(v), Some(m)) => format!("catalog[{i}] ({v} {m})"),
        _ => format!("catalog[{i}]"),
    }
}

fn read_entry(cx: &mut Cx, node: &Node, i: usize) -> Option<Item<CatalogEntry>> {
    let label = label(node, i);
    let mut f = Fields::of(cx, node, &label)?;
    let mut at = HashMap::new();
    let vendor = f
        .need(cx, "vendor", "the maker, as its notices name it")
        .and_then(|n| cx.text(n, &f.at("vendor")));
    let model_node = f.need(cx, "model", "a model, or a pattern where * stands for any text");
    if let Some(n) = model_node {
        at.insert("model", cx.here(n.pos));
    }
    let model = model_node.and_then(|n| cx.text(n, &f.at("model")));
    let mut ok = true;
    let mut date = |cx: &mut Cx, f: &mut Fields, name: &'static str| {
        let n = f.get(name)?;
        let d = cx.date(n, &f.at(name));
        ok &= d.is_some();
        d.map(|d| (d, n.pos))
    };
    let end_of_sale = date(cx, &mut f, "end_of_sale");
    let end_of_support = date(cx, &mut f, "end_of_support");
    let end_of_security_updates = date(cx, &mut f, "end_of_security_updates");
    let source = f
        .need(cx, "source", "the public vendor notice the dates come from: its title or address")
        .and_then(|n| cx.text(n, &f.at("source")));
    f.finish(cx);

    if let Some(v) = &vendor
        && v.trim().is_empty()
    {
        cx.error(node.pos, &format!("{label}.vendor"), "the vendor is empty");
        ok = false;
    }
    if let (Some(m), Some(n)) = (&model, model_node)
        && !key(m).chars().any(|c| c != '*')
    {
        cx.error(
            n.pos,
            &format!("{label}.model"),
            format!("model {m:?} names no model: a pattern needs letters or digits besides *"),
        );
        ok = false;
    }
    if let Some(s) = &source
        && s.trim().is_empty()
    {
        cx.error(
            node.pos,
            &format!("{label}.source"),
            "the source is empty; name the vendor notice",
        );
        ok = false;
    }
    if ok && end_of_sale.is_none() && end_of_support.is_none() && end_of_security_updates.is_none()
    {
        cx.error(
            node.pos,
            &label,
            "an entry needs at least one date: end_of_sale, end_of_support or end_of_security_updates",
        );
        ok = false;
    }
    if let (Some((support, pos)), Some((sale, _))) = (end_of_support, end_of_sale)
        && support < sale
    {
        cx.warn(
            pos,
            &format!("{label}.end_of_support"),
            format!(
                "end_of_support {support} is before end_of_sale {sale}; vendors usually stop selling before they stop supporting"
            ),
        );
    }
    if !ok {
        return None;
    }
    let loc = cx.here(node.pos);
    let file =
        cx.files[loc.file].strip_prefix(&cx.dir).unwrap_or(&cx.files[loc.file]).to_path_buf();
    let entry = CatalogEntry {
        vendor: vendor?,
        model: model?,
        end_of_sale: end_of_sale.map(|d| d.0),
        end_of_support: end_of_support.map(|d| d.0),
        end_of_security_updates: end_of_security_updates.map(|d| d.0),
        source: source?,
        at: format!("{}:{}", file.display(), node.pos.line),
    };
    Some(Item { value: entry, loc, label, at })
}

/// The catalogue, once no two entries of one vendor can match the same model.
pub(super) fn build(cx: &mut Cx, entries: Vec<Item<CatalogEntry>>) -> Catalog {
    for (j, later) in entries.iter().enumerate() {
        for earlier in &entries[..j] {
            let (a, b) = (&earlier.value, &later.value);
            if vendor::same(&a.vendor, &b.vendor) && overlap(&key(&a.model), &key(&b.model)) {
                let first = cx.show(earlier.field("model"));
                cx.error_at(
                    later.field("model"),
                    &later.path("model"),
                    format!(
                        "model {:?} overlaps {:?} of the same vendor (at {first}): a model must \
                         match one catalogue entry only",
                        b.model, a.model
                    ),
                );
            }
        }
    }
    Catalog { entries: entries.into_iter().map(|e| e.value).collect() }
}
