//! The compact table `bench extract` prints, and the per-case misses of `--show-misses`.

use std::collections::BTreeSet;

use serde_json::json;

use super::{CaseScore, ExtractReport, Latency, Summary};

fn figure(value: Option<f64>) -> String {
    value.map_or_else(|| "-".into(), |v| format!("{v:.3}"))
}

fn header() -> String {
    format!(
        "{:<22} {:>5} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>7}\n",
        "", "cases", "ent R", "ent P", "rel R", "rel P", "fld R", "type", "enum", "auth", "invalid"
    )
}

fn row(label: &str, s: &Summary, invalid: Option<usize>) -> String {
    format!(
        "{:<22} {:>5} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>7}\n",
        label,
        s.cases,
        figure(s.entity_recall),
        figure(s.entity_precision),
        figure(s.relation_recall),
        figure(s.relation_precision),
        figure(s.field_recall),
        figure(s.field_type_accuracy),
        figure(s.enum_recall),
        figure(s.auth_recall),
        invalid.map_or_else(String::new, |n| n.to_string()),
    )
}

fn latency(label: &str, latency: Option<&Latency>) -> String {
    match latency {
        Some(l) => format!(
            "{label}: p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms\n",
            l.p50_ms, l.p95_ms, l.max_ms
        ),
        None => format!("{label}: no prompts\n"),
    }
}

/// Overall figures per contender, then per style, then latency per prompt.
pub fn table(report: &ExtractReport) -> String {
    let mut out = format!(
        "bench extract: {} cases{} from {}\n",
        report.summary.cases,
        report
            .split
            .as_deref()
            .map(|s| format!(" of split {s}"))
            .unwrap_or_default(),
        report.set.join(", ")
    );
    if report.summary.cases == 0 {
        out.push_str("no cases to score\n");
        return out;
    }
    let contenders = report.contenders();
    out.push_str(&header());
    for (name, summary, _, invalid) in &contenders {
        out.push_str(&row(name, summary, Some(*invalid)));
    }
    let styles: BTreeSet<&String> = contenders
        .iter()
        .flat_map(|(_, _, by_style, _)| by_style.keys())
        .collect();
    out.push_str("per style:\n");
    for style in styles {
        for (name, _, by_style, _) in &contenders {
            if let Some(summary) = by_style.get(style) {
                let label = if contenders.len() == 1 {
                    style.clone()
                } else {
                    format!("{style} {name}")
                };
                out.push_str(&row(&label, summary, None));
            }
        }
    }
    out.push_str(&latency(
        "rules latency per prompt",
        report.latency.as_ref(),
    ));
    if let Some(ratio) = report.p50_to_baseline {
        out.push_str(&format!(
            "  (p50 is {ratio:.2}x the baseline, sha256 of 4 MiB: median {:.2} ms)\n",
            report.baseline.median_ms
        ));
    }
    if let Some(model) = &report.model {
        out.push_str(&latency(
            &format!(
                "model latency per prompt ({}, loaded in {:.1} s)",
                model.model, model.load_s
            ),
            model.latency.as_ref(),
        ));
        let fallbacks = model
            .prompts
            .iter()
            .filter(|p| p.fallback.is_some())
            .count();
        out.push_str(&format!(
            "combined fell back to the rules on {fallbacks} of {} prompts\n",
            model.prompts.len()
        ));
    }
    out
}

fn case_misses(contender: &str, case: &CaseScore) -> Option<String> {
    let nothing = case.missing_entities.is_empty()
        && case.extra_entities.is_empty()
        && case.missing_relations.is_empty()
        && case.missing_fields.is_empty()
        && case.wrong_types.is_empty()
        && case.missing_enum_values.is_empty()
        && case.auth_ok != Some(false);
    (!nothing).then(|| {
        json!({
            "contender": contender,
            "id": case.id,
            "missing_entities": case.missing_entities,
            "extra_entities": case.extra_entities,
            "missing_relations": case.missing_relations,
            "missing_fields": case.missing_fields,
            "wrong_types": case.wrong_types,
            "missing_enum_values": case.missing_enum_values,
            "auth_missed": case.auth_ok == Some(false),
        })
        .to_string()
    })
}

/// One JSON line per case and contender that missed anything (as `spec_score.py
/// --show-misses`, plus types, enum values and auth).
pub fn misses(report: &ExtractReport) -> String {
    let mut lines: Vec<String> = report
        .cases
        .iter()
        .filter_map(|c| case_misses("rules", c))
        .collect();
    if let Some(model) = &report.model {
        for contender in [&model.alone, &model.combined] {
            lines.extend(
                contender
                    .cases
                    .iter()
                    .filter_map(|c| case_misses(&contender.name, c)),
            );
        }
    }
    lines.iter().map(|l| format!("{l}\n")).collect()
}
