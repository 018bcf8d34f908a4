//! A report's figures as tables: what the CSV download and the printable page are made of, so
//! each report says once which figures it has and in what order.

use crate::alerts::reach::ReachCount;

/// One table of a report: a title, its column names, and rows of cells in those columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub title: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    pub fn new(title: impl Into<String>, columns: &[&str]) -> Self {
        Self {
            title: title.into(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; it must have a cell for every column.
    pub fn push(&mut self, row: Vec<Cell>) {
        debug_assert_eq!(row.len(), self.columns.len(), "a row of {}", self.title);
        self.rows.push(row);
    }
}

/// A part of a document made of several reports: its heading and its tables.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    pub heading: String,
    pub tables: Vec<Table>,
}

/// One figure or label.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    /// A count of things (alerts, messages), shown exactly.
    Number(i64),
    /// A count of people, shown exactly from 5 on and as `<5` below.
    People(ReachCount),
    /// A share or average, with this many decimals.
    Decimal(f64, u8),
    /// An amount in euros, kept in millionths so that sums stay exact.
    Euros {
        micros: i64,
    },
    /// Nothing to show (a rate of nothing, a median of no alerts).
    Empty,
}

impl Cell {
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text(text.into())
    }

    /// `value` with `decimals`, or empty when there is none.
    pub fn decimal(value: Option<f64>, decimals: u8) -> Self {
        value.map_or(Self::Empty, |value| Self::Decimal(value, decimals))
    }

    /// The cell as written in a file or on a page: numbers with a dot and no thousands
    /// separator, euros with two decimals (more when under a cent), `<5` for a count not shown.
    pub fn render(&self) -> String {
        match self {
            Self::Text(text) => text.clone(),
            Self::Number(number) => number.to_string(),
            Self::People(ReachCount::Exact { count }) => count.to_string(),
            Self::People(ReachCount::FewerThan { fewer_than }) => format!("<{fewer_than}"),
            Self::Decimal(value, decimals) => format!("{value:.*}", usize::from(*decimals)),
            Self::Euros { micros } => {
                let decimals = if micros.abs() < 10_000 && *micros != 0 { 4 } else { 2 };
                format!("{:.*}", decimals, *micros as f64 / 1_000_000.0)
            }
            Self::Empty => String::new(),
        }
    }

    /// Whether the cell is a figure (aligned right on a page) rather than a label.
    pub fn is_figure(&self) -> bool {
        !matches!(self, Self::Text(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_written_as_a_spreadsheet_reads_them() {
        assert_eq!(Cell::Number(1234567).render(), "1234567");
        assert_eq!(Cell::People(ReachCount::shown(4)).render(), "<5");
        assert_eq!(Cell::People(ReachCount::shown(5)).render(), "5");
        assert_eq!(Cell::Decimal(12.3456, 1).render(), "12.3");
        assert_eq!(Cell::decimal(None, 1).render(), "");
        assert_eq!(Cell::Euros { micros: 1_234_560_000 }.render(), "1234.56");
        assert_eq!(Cell::Euros { micros: 700 }.render(), "0.0007", "under a cent keeps four decimals");
        assert_eq!(Cell::Euros { micros: 0 }.render(), "0.00");
    }
}
