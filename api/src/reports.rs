//! What every report endpoint shares: the query that names its scope, period and format, and the
//! answer as JSON, as a CSV download of the same figures, or as a printable page.

use actix_web::HttpResponse;
use actix_web::http::header;
use burgernet_core::reports::{
    InvalidPeriod, ReportPeriod, ReportScope, ScopeRequest, Section, Table, dutch_date,
};
use burgernet_core::vocabulary::regions::{CbsCode, RegionCode};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::html::escape;

/// Which figures, over what period, in what form. Without `region` or `municipality`, the
/// caller's own scope (an administrator's is the country); without a period, the twelve months up
/// to and including this one.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// A police region's code: its figures, with those of its municipalities.
    pub region: Option<String>,
    /// A municipality's CBS code, e.g. `GM0599`: its figures. Not together with `region`.
    pub municipality: Option<String>,
    /// The first day, e.g. `2026-07-01` (Dutch time). With `to`.
    pub from: Option<String>,
    /// The last day, included. With `from`.
    pub to: Option<String>,
    /// A calendar quarter, e.g. `2026-Q3`, instead of `from` and `to`.
    pub quarter: Option<String>,
    /// `json` (default) or `csv`: the same figures as a download for a spreadsheet.
    #[param(inline)]
    pub format: Option<ReportFormat>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportFormat {
    #[default]
    Json,
    Csv,
}

impl From<InvalidPeriod> for ApiError {
    fn from(error: InvalidPeriod) -> Self {
        Self::bad_request(error.code, error.detail)
    }
}

impl ReportQuery {
    /// The scope asked for; codes that are not codes are refused here, before any lookup.
    pub fn scope_request(&self) -> Result<ScopeRequest, ApiError> {
        scope_request(self.region.as_deref(), self.municipality.as_deref())
    }

    /// The period asked for, in whole days of Dutch time.
    pub fn period(&self) -> Result<ReportPeriod, ApiError> {
        let today = dutch_date(chrono::Utc::now());
        Ok(ReportPeriod::parse(self.from.as_deref(), self.to.as_deref(), self.quarter.as_deref(), today)?)
    }

    pub fn format(&self) -> ReportFormat {
        self.format.unwrap_or_default()
    }
}

/// The scope a query names with `region` or `municipality` (at most one); codes that are not
/// codes are refused here, before any lookup.
pub fn scope_request(region: Option<&str>, municipality: Option<&str>) -> Result<ScopeRequest, ApiError> {
    if region.is_some() && municipality.is_some() {
        return Err(ApiError::bad_request("invalid_scope", "Ask for a region or a municipality, not both."));
    }
    let region = region
        .map(RegionCode::parse)
        .transpose()
        .map_err(|_| ApiError::bad_request("invalid_scope", "region is not a region's code."))?;
    let municipality = municipality
        .map(CbsCode::parse)
        .transpose()
        .map_err(|_| ApiError::bad_request("invalid_scope", "municipality is not a CBS code like GM0599."))?;
    Ok(ScopeRequest { region, municipality })
}

/// The answer to a report request: `report` as JSON, or its `tables` as CSV named after the
/// report, its scope and its period.
pub fn respond<T: Serialize>(
    format: ReportFormat,
    name: &str,
    scope: &ReportScope,
    period: &ReportPeriod,
    report: &T,
    tables: impl FnOnce() -> Vec<Table>,
) -> HttpResponse {
    match format {
        ReportFormat::Json => HttpResponse::Ok().json(report),
        ReportFormat::Csv => {
            let file_name = format!("{name}_{}_{}.csv", scope.file_name_part(), period.file_name_part());
            HttpResponse::Ok()
                .content_type("text/csv; charset=utf-8")
                .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{file_name}\"")))
                .body(csv(&tables()))
        }
    }
}

/// Tables as one CSV file: each under a line with its title, then its header and rows, with a
/// blank line between tables. Fields are quoted where CSV needs it (RFC 4180), and text that a
/// spreadsheet would take for a formula is written as text.
pub fn csv(tables: &[Table]) -> String {
    let mut out = String::new();
    for (index, table) in tables.iter().enumerate() {
        if index > 0 {
            out.push_str("\r\n");
        }
        out.push_str(&csv_line(std::iter::once(table.title.clone())));
        out.push_str(&csv_line(table.columns.iter().cloned()));
        for row in &table.rows {
            out.push_str(&csv_line(row.iter().map(|cell| {
                let text = cell.render();
                if !cell.is_figure() && text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
                    format!("'{text}")
                } else {
                    text
                }
            })));
        }
    }
    out
}

/// The printable page's policy: nothing loads and nothing runs, only its own inline style.
pub const PRINTABLE_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'";

/// A report as one printable HTML page (A4, a section per page part, figures aligned right): what
/// a municipality files or prints to PDF from the browser. Self-contained, without scripts.
pub fn printable(title: &str, facts: &[(String, String)], sections: &[Section]) -> String {
    let mut page = String::from("<!DOCTYPE html>\n<html lang=\"nl\">\n<head>\n<meta charset=\"utf-8\">\n");
    page.push_str(&format!("<title>{}</title>\n", escape(title)));
    page.push_str(
        "<style>\n\
         @page { size: A4; margin: 18mm 15mm; }\n\
         body { font-family: system-ui, sans-serif; font-size: 10pt; color: #111; margin: 0 auto; max-width: 60rem; }\n\
         h1 { font-size: 16pt; margin: 0 0 .5rem; } h2 { font-size: 13pt; margin: 1.5rem 0 .5rem; break-after: avoid; }\n\
         dl { display: grid; grid-template-columns: max-content auto; gap: .1rem 1rem; margin: 0 0 1rem; }\n\
         dt { font-weight: 600; } dd { margin: 0; }\n\
         table { border-collapse: collapse; width: 100%; margin: 0 0 1rem; break-inside: auto; }\n\
         caption { text-align: left; font-weight: 600; padding: .25rem 0; }\n\
         th, td { border-bottom: 1px solid #bbb; padding: .15rem .4rem; text-align: left; vertical-align: top; }\n\
         th { border-bottom: 2px solid #444; } tr { break-inside: avoid; }\n\
         td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }\n\
         section + section { break-before: page; }\n\
         </style>\n</head>\n<body>\n<header>\n",
    );
    page.push_str(&format!("<h1>{}</h1>\n<dl>\n", escape(title)));
    for (term, value) in facts {
        page.push_str(&format!("<dt>{}</dt><dd>{}</dd>\n", escape(term), escape(value)));
    }
    page.push_str("</dl>\n</header>\n<main>\n");
    for section in sections {
        page.push_str(&format!("<section>\n<h2>{}</h2>\n", escape(&section.heading)));
        for table in &section.tables {
            page.push_str(&format!("<table>\n<caption>{}</caption>\n<thead><tr>", escape(&table.title)));
            for column in &table.columns {
                page.push_str(&format!("<th scope=\"col\">{}</th>", escape(column)));
            }
            page.push_str("</tr></thead>\n<tbody>\n");
            for row in &table.rows {
                page.push_str("<tr>");
                for cell in row {
                    let class = if cell.is_figure() { " class=\"n\"" } else { "" };
                    page.push_str(&format!("<td{class}>{}</td>", escape(&cell.render())));
                }
                page.push_str("</tr>\n");
            }
            page.push_str("</tbody>\n</table>\n");
        }
        page.push_str("</section>\n");
    }
    page.push_str("</main>\n</body>\n</html>\n");
    page
}

fn csv_line(fields: impl Iterator<Item = String>) -> String {
    let fields: Vec<String> = fields
        .map(|field| {
            if field.contains([',', '"', '\n', '\r', ';']) {
                format!("\"{}\"", field.replace('"', "\"\""))
            } else {
                field
            }
        })
        .collect();
    format!("{}\r\n", fields.join(","))
}

#[cfg(test)]
mod tests {
    use burgernet_core::alerts::reach::ReachCount;
    use burgernet_core::reports::Cell;

    use super::*;

    #[test]
    fn a_printable_page_escapes_every_text_and_aligns_figures() {
        let mut table = Table::new("Deelname <per> gemeente", &["gemeente", "deelnemers"]);
        table.push(vec![Cell::text("<script>alert(1)</script> & 'x'"), Cell::People(ReachCount::shown(2))]);
        let facts = [("Periode".to_string(), "2026-Q3".to_string())];
        let page = printable(
            "Rapport \"Q3\"",
            &facts,
            &[Section { heading: "1. Deelname".into(), tables: vec![table] }],
        );
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(page.contains("<title>Rapport &quot;Q3&quot;</title>"));
        assert!(page.contains("<caption>Deelname &lt;per&gt; gemeente</caption>"));
        assert!(page.contains(
            "<td>&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#39;x&#39;</td><td class=\"n\">&lt;5</td>"
        ));
        assert!(!page.contains("<script"), "nothing runs");
        assert!(page.contains("<dt>Periode</dt><dd>2026-Q3</dd>"));
    }

    #[test]
    fn tables_become_one_csv_file_with_titles_and_quoted_fields() {
        let mut first = Table::new("Deelname", &["gemeente", "deelnemers", "aandeel %"]);
        first.push(vec![
            Cell::text("Bergen (NH.)"),
            Cell::People(ReachCount::shown(1200)),
            Cell::Decimal(3.456, 2),
        ]);
        first.push(vec![Cell::text("Zeg \"ja\", of nee"), Cell::People(ReachCount::shown(3)), Cell::Empty]);
        first.push(vec![Cell::text("=HYPERLINK(\"x\")"), Cell::Number(-2), Cell::Empty]);
        let mut second = Table::new("Kosten", &["kanaal", "euro"]);
        second.push(vec![Cell::text("sms"), Cell::Euros { micros: 12_345_678 }]);
        assert_eq!(
            csv(&[first, second]),
            "Deelname\r\n\
             gemeente,deelnemers,aandeel %\r\n\
             Bergen (NH.),1200,3.46\r\n\
             \"Zeg \"\"ja\"\", of nee\",<5,\r\n\
             \"'=HYPERLINK(\"\"x\"\")\",-2,\r\n\
             \r\n\
             Kosten\r\n\
             kanaal,euro\r\n\
             sms,12.35\r\n"
        );
    }
}
