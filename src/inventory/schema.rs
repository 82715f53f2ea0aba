//! The JSON Schema of an inventory file, for editors (yaml-language-server and others).
//!
//! It describes one file: every top-level key is optional because lists are concatenated
//! across the files of a directory. Checks across files (unique ids, references, exactly one
//! main site) are `vigia inventory check`'s job; a test keeps this schema and the reader in
//! step by validating the shipped inventory and the test inventories against it.

use serde_json::{Value, json};

use super::model::{
    AuthProtocol, DeviceClass, Family, IndicatorId, LinkMedium, PrivProtocol, ProjectStatus,
    SiteRole,
};

fn names(all: &[&str]) -> Value {
    json!({ "type": "string", "enum": all })
}

fn of<T: Copy>(all: &[T], as_str: fn(T) -> &'static str) -> Vec<&'static str> {
    all.iter().map(|v| as_str(*v)).collect()
}

/// The schema, as a JSON value.
pub fn schema() -> Value {
    let id = json!({ "type": "string", "pattern": "^[a-z0-9-]+$" });
    let date =
        json!({ "type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", "format": "date" });
    let duration = json!({ "type": "string", "pattern": "^([0-9]+(ms|s|m|h))+$" });
    let env = json!({ "type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$" });
    let count = json!({ "type": "integer", "minimum": 0 });
    let media = of(LinkMedium::ALL, LinkMedium::as_str);
    let ids = json!({ "oneOf": [id, { "type": "array", "items": id }] });
    let zone = json!({ "type": "string", "pattern": "^[A-Za-z_+-]+(/[A-Za-z0-9_+-]+)*$" });
    let moment = json!({ "type": "string", "pattern": "^([0-9]{4}-[0-9]{2}-[0-9]{2} )?[0-2][0-9]:[0-5][0-9]$" });
    let weekdays: Vec<&str> = super::maintenance::WEEKDAYS.iter().map(|(name, _)| *name).collect();
    let classes = of(DeviceClass::ALL, DeviceClass::as_str);
    let mut secret_fields = serde_json::Map::new();
    for base in ["community", "auth_password", "priv_password"] {
        secret_fields.insert(base.into(), json!({ "type": "string" }));
        secret_fields.insert(format!("{base}_env"), env.clone());
        secret_fields.insert(format!("{base}_file"), json!({ "type": "string" }));
    }
    secret_fields.insert("version".into(), json!({ "enum": ["2c", "3", 3] }));
    secret_fields.insert("user".into(), json!({ "type": "string" }));
    secret_fields
        .insert("auth_protocol".into(), names(&of(AuthProtocol::ALL, AuthProtocol::as_str)));
    secret_fields
        .insert("priv_protocol".into(), names(&of(PrivProtocol::ALL, PrivProtocol::as_str)));
    let profile = json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["version"],
        "properties": secret_fields,
    });
    let per_class = |extra: &[&str]| {
        let mut props = serde_json::Map::new();
        for c in classes.iter().chain(extra) {
            props.insert((*c).to_owned(), count.clone());
        }
        Value::Object(props)
    };
    let mut media_props = serde_json::Map::new();
    for m in media.iter().chain(&["total"]) {
        media_props.insert((*m).to_owned(), count.clone());
    }

    let devices = json!({ "type": "array", "items": {
        "type": "object", "additionalProperties": false,
        "required": ["id", "site", "class"],
        "properties": {
            "id": id, "site": id, "class": names(&classes),
            "vendor": { "type": "string" }, "model": { "type": "string" },
            "serial": { "type": "string" },
            "ipv4": { "type": "string", "format": "ipv4" },
            "ipv6": { "type": "string", "format": "ipv6" },
            "uplink": { "type": "boolean" },
            "snmp": { "oneOf": [id, { "const": false }, profile] },
            "monitor": { "type": "boolean" },
            "ipv6_planned": date,
            "depends_on": ids,
            "icmp": { "type": "boolean" },
            "poll": {
                "type": "object", "additionalProperties": false,
                "properties": { "icmp_spacing": duration },
            },
            "lifecycle": {
                "type": "object", "additionalProperties": false,
                "properties": {
                    "acquired": date, "end_of_sale": date, "end_of_support": date,
                    "renewed": date, "replaces": id, "retired": date,
                }
            }
        }
    }});
    let maintenance = json!({ "type": "array", "items": {
        "type": "object", "additionalProperties": false,
        "required": ["id", "scope", "start", "end", "reason"],
        "properties": {
            "id": id,
            "scope": { "oneOf": [
                { "const": "all" },
                { "type": "object", "additionalProperties": false, "required": ["site"], "properties": { "site": id } },
                { "type": "object", "additionalProperties": false, "required": ["device"], "properties": { "device": id } },
            ]},
            "start": moment, "end": moment,
            "weekly": names(&weekdays),
            "monthly": { "type": "integer", "minimum": 1, "maximum": 31 },
            "time_zone": zone,
            "reason": { "type": "string" },
        },
        "not": { "required": ["weekly", "monthly"] },
    }});

    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://vigia.invalid/schema/inventory.json",
        "title": "vigia inventory file",
        "description": "One file of a vigia inventory directory; lists are concatenated across files.",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "sites": { "type": "array", "items": {
                "type": "object", "additionalProperties": false,
                "required": ["id", "name", "role"],
                "properties": {
                    "id": id, "name": { "type": "string" },
                    "role": names(&of(SiteRole::ALL, SiteRole::as_str)),
                    "link": names(&media),
                    "link_mbps": count, "provider": { "type": "string" },
                    "planned_link": names(&["fibre", "radio"]),
                    "planned_date": date,
                    "via": id, "core": ids,
                }
            }},
            "snmp_profiles": {
                "type": "object",
                "propertyNames": { "pattern": "^[a-z0-9-]+$" },
                "additionalProperties": profile,
            },
            "defaults": {
                "type": "object", "additionalProperties": false,
                "properties": {
                    "snmp": { "oneOf": [id, { "const": false }] },
                    "poll": {
                        "type": "object", "additionalProperties": false,
                        "properties": {
                            "icmp_interval": duration, "snmp_interval": duration,
                            "timeout": duration,
                            "retries": { "type": "integer", "minimum": 0, "maximum": 10 },
                            "icmp_count": { "type": "integer", "minimum": 1, "maximum": 100 },
                            "icmp_spacing": duration,
                        }
                    },
                    "time_zone": zone,
                }
            },
            "devices": devices,
            "policy": {
                "type": "object", "additionalProperties": false,
                "properties": { "renewal": {
                    "type": "object", "additionalProperties": false,
                    "properties": {
                        "max_age_years": {
                            "type": "object", "additionalProperties": false,
                            "properties": per_class(&["default"]),
                        },
                        "support_warning_days": count,
                    }
                }}
            },
            "projects": { "type": "array", "items": {
                "type": "object", "additionalProperties": false,
                "required": ["id", "indicator", "name", "year", "status"],
                "properties": {
                    "id": id,
                    "indicator": names(&of(IndicatorId::ALL, IndicatorId::as_str)),
                    "name": { "type": "string" },
                    "year": { "type": "integer", "minimum": 1900, "maximum": 9999 },
                    "budget_pen": { "type": "number", "minimum": 0 },
                    "priority": { "type": "integer", "minimum": 0, "maximum": 9 },
                    "status": names(&of(ProjectStatus::ALL, ProjectStatus::as_str)),
                    "implemented_on": date,
                },
                "if": { "properties": { "status": { "const": "implemented" } } },
                "then": { "required": ["implemented_on"] },
            }},
            "indicators": { "type": "array", "items": {
                "type": "object", "additionalProperties": false,
                "required": ["id", "name"],
                "properties": {
                    "id": names(&of(IndicatorId::ALL, IndicatorId::as_str)),
                    "name": { "type": "string" },
                    "targets": {
                        "type": "object",
                        "propertyNames": { "pattern": "^[0-9]{4}$" },
                        "additionalProperties": { "type": "number", "minimum": 0 },
                    },
                    "objective": { "type": "string" }, "action": { "type": "string" },
                    "formula": { "type": "string" }, "source": { "type": "string" },
                    "responsible": { "type": "string" }, "target_note": { "type": "string" },
                }
            }},
            "maintenance": maintenance,
            "declared": { "type": "array", "items": {
                "type": "object", "additionalProperties": false,
                "required": ["source"],
                "properties": {
                    "source": { "type": "string" },
                    "sites": { "type": "object", "additionalProperties": false, "properties": media_props },
                    "devices": { "type": "object", "additionalProperties": false, "properties": per_class(&[]) },
                }
            }},
            "lab": {
                "description": "Lab-only: how the lab twin (vigia lab, vigia agent --lab) departs from the media and addresses; polling a real network ignores it.",
                "type": "object", "additionalProperties": false,
                "properties": {
                    "links": { "type": "array", "items": {
                        "type": "object", "additionalProperties": false,
                        "required": ["site", "delay"],
                        "properties": {
                            "site": id, "delay": duration, "jitter": duration,
                            "loss_percent": { "type": "number", "minimum": 0, "maximum": 100 },
                        }
                    }},
                    "silent": { "type": "array", "items": {
                        "type": "object", "additionalProperties": false,
                        "required": ["device", "family"],
                        "properties": {
                            "device": id,
                            "family": names(&of(Family::ALL, Family::as_str)),
                        }
                    }},
                }
            },
            "catalog": { "type": "array", "items": {
                "type": "object", "additionalProperties": false,
                "required": ["vendor", "model", "source"],
                "anyOf": [
                    { "required": ["end_of_sale"] },
                    { "required": ["end_of_support"] },
                    { "required": ["end_of_security_updates"] },
                ],
                "properties": {
                    "vendor": { "type": "string", "minLength": 1 },
                    "model": { "type": "string", "minLength": 1 },
                    "end_of_sale": date,
                    "end_of_support": date,
                    "end_of_security_updates": date,
                    "source": { "type": "string", "minLength": 1 },
                }
            }},
        }
    })
}
