//! A table of precomputed track descriptors (one row per track, a `label` column, numeric
//! descriptor columns: the layout of GTZAN's `features_30_sec.csv`), and the preprocessing
//! a table model is trained with: dropping descriptors strongly correlated with an earlier
//! one, then standardising. Both are fitted on training rows only.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

/// Columns that name or describe the file rather than its sound; never used as inputs.
const NON_DESCRIPTOR_COLUMNS: [&str; 3] = ["filename", "start", "length"];

/// A labelled descriptor table.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureTable {
    /// Descriptor column names, in file order.
    pub columns: Vec<String>,
    /// One row of `columns.len()` values per track.
    pub rows: Vec<Vec<f64>>,
    /// Label names, sorted.
    pub labels: Vec<String>,
    /// Each row's label index.
    pub row_labels: Vec<usize>,
    /// Each row's file name (its row number when the table has no `filename` column).
    pub names: Vec<String>,
}

impl FeatureTable {
    /// Reads a CSV file with a header row (see [`FeatureTable::parse`]).
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the table {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("in the table {}", path.display()))
    }

    /// Parses CSV text: a header row with a `label` column; `filename` and `length` columns
    /// are kept aside; every other column must hold a finite number in every row.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let mut reader =
            csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(text.as_bytes());
        let header: Vec<String> = reader
            .headers()
            .context("reading the header row")?
            .iter()
            .map(str::to_string)
            .collect();
        let label_col =
            header.iter().position(|h| h == "label").context("the table has no `label` column")?;
        let name_col = header.iter().position(|h| h == "filename");
        let feature_cols: Vec<usize> = (0..header.len())
            .filter(|&i| i != label_col && !NON_DESCRIPTOR_COLUMNS.contains(&header[i].as_str()))
            .collect();
        if feature_cols.is_empty() {
            bail!("the table has no descriptor columns besides {:?}", header);
        }
        let mut rows = Vec::new();
        let mut label_names = Vec::new();
        let mut names = Vec::new();
        for (i, record) in reader.records().enumerate() {
            let line = i + 2;
            let record = record.with_context(|| format!("line {line}"))?;
            if record.len() != header.len() {
                bail!("line {line} has {} fields, the header {}", record.len(), header.len());
            }
            let mut row = Vec::with_capacity(feature_cols.len());
            for &c in &feature_cols {
                let value: f64 =
                    record[c].parse().ok().filter(|v: &f64| v.is_finite()).with_context(|| {
                        format!(
                            "line {line}, column `{}`: {:?} is not a finite number",
                            header[c], &record[c]
                        )
                    })?;
                row.push(value);
            }
            let label = record[label_col].to_string();
            if label.is_empty() {
                bail!("line {line} has an empty label");
            }
            rows.push(row);
            label_names.push(label);
            names
                .push(name_col.map_or_else(|| format!("row {}", i + 1), |c| record[c].to_string()));
        }
        if rows.is_empty() {
            bail!("the table has a header but no rows");
        }
        let labels: Vec<String> =
            label_names.iter().cloned().collect::<BTreeSet<_>>().into_iter().collect();
        if labels.len() < 2 {
            bail!("the table has a single label ({}); a classifier needs at least two", labels[0]);
        }
        let row_labels = label_names
            .iter()
            .map(|l| labels.binary_search(l).expect("label collected above"))
            .collect();
        Ok(FeatureTable {
            columns: feature_cols.iter().map(|&c| header[c].clone()).collect(),
            rows,
            labels,
            row_labels,
            names,
        })
    }
}

impl FeatureTable {
    /// The rows of each track, tracks in order of first appearance: rows with the same
    /// `filename` (the windows of one long recording, from `trainer describe`) form one track,
    /// so cross-validation never splits a recording. Fails when a track's rows disagree on
    /// the label.
    pub fn tracks(&self) -> anyhow::Result<Vec<Vec<usize>>> {
        let mut index: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        let mut tracks: Vec<Vec<usize>> = Vec::new();
        for (r, name) in self.names.iter().enumerate() {
            let t = *index.entry(name.as_str()).or_insert_with(|| {
                tracks.push(Vec::new());
                tracks.len() - 1
            });
            if let Some(&first) = tracks[t].first() {
                if self.row_labels[first] != self.row_labels[r] {
                    bail!(
                        "`{name}` has rows labelled both {} and {}",
                        self.labels[self.row_labels[first]],
                        self.labels[self.row_labels[r]]
                    );
                }
            }
            tracks[t].push(r);
        }
        Ok(tracks)
    }
}

/// Which descriptors a table model reads and how they are standardised (fitted on the
/// training rows; stored with the model so that classification repeats it exactly).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TablePreprocessing {
    /// Indices (into the table's columns) of the kept descriptors, in order.
    pub kept: Vec<usize>,
    /// Names of the kept descriptors.
    pub columns: Vec<String>,
    /// Training mean of each kept descriptor.
    pub mean: Vec<f64>,
    /// Training standard deviation of each kept descriptor.
    pub std: Vec<f64>,
}

impl TablePreprocessing {
    /// Fits on the rows `train` of `table`: walking the columns in order, a column is dropped
    /// when its absolute Pearson correlation with an already kept one is at least
    /// `max_correlation`, or when it is constant; the kept ones are standardised with their
    /// training mean and standard deviation.
    pub fn fit(
        table: &FeatureTable,
        train: &[usize],
        max_correlation: f64,
    ) -> anyhow::Result<Self> {
        if train.len() < 2 {
            bail!(
                "fitting the descriptor preprocessing needs at least 2 training rows, got {}",
                train.len()
            );
        }
        let n = train.len() as f64;
        let column = |c: usize| -> Vec<f64> { train.iter().map(|&r| table.rows[r][c]).collect() };
        let stats = |v: &[f64]| {
            let mean = v.iter().sum::<f64>() / n;
            let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
            (mean, var.sqrt())
        };
        let mut kept: Vec<(usize, Vec<f64>, f64, f64)> = Vec::new();
        for c in 0..table.columns.len() {
            let values = column(c);
            let (mean, std) = stats(&values);
            if std == 0.0 {
                continue;
            }
            let correlated = kept.iter().any(|(_, other, other_mean, other_std)| {
                let cov = values
                    .iter()
                    .zip(other)
                    .map(|(a, b)| (a - mean) * (b - other_mean))
                    .sum::<f64>()
                    / n;
                (cov / (std * other_std)).abs() >= max_correlation
            });
            if !correlated {
                kept.push((c, values, mean, std));
            }
        }
        if kept.is_empty() {
            bail!("every descriptor column is constant over the training rows");
        }
        Ok(TablePreprocessing {
            kept: kept.iter().map(|k| k.0).collect(),
            columns: kept.iter().map(|k| table.columns[k.0].clone()).collect(),
            mean: kept.iter().map(|k| k.2).collect(),
            std: kept.iter().map(|k| k.3).collect(),
        })
    }

    /// The standardised kept descriptors of one table row.
    pub fn apply(&self, row: &[f64]) -> Vec<f32> {
        self.kept
            .iter()
            .zip(self.mean.iter().zip(&self.std))
            .map(|(&c, (m, s))| ((row[c] - m) / s) as f32)
            .collect()
    }

    /// One standardised vector per row in `rows` (indices into `table`).
    pub fn vectors(&self, table: &FeatureTable, rows: &[usize]) -> Vec<Vec<f32>> {
        rows.iter().map(|&r| self.apply(&table.rows[r])).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str = "filename,length,a,b,c,d,label\n\
        x1.wav,10,1,2,5,7,rock\n\
        x2.wav,10,2,4,3,7,jazz\n\
        x3.wav,10,3,6,1,7,rock\n\
        x4.wav,10,4,8.5,4,7,jazz\n";

    #[test]
    fn rows_of_one_file_form_one_track() {
        let t = FeatureTable::parse(
            "filename,start,a,label\nx.wav,0,1,rock\ny.wav,0,2,jazz\nx.wav,15,3,rock\n",
        )
        .unwrap();
        assert_eq!(t.columns, ["a"]);
        assert_eq!(t.tracks().unwrap(), vec![vec![0, 2], vec![1]]);
        let bad = FeatureTable::parse("filename,a,label\nx.wav,1,rock\nx.wav,2,jazz\n").unwrap();
        assert!(bad.tracks().unwrap_err().to_string().contains("`x.wav` has rows labelled both"));
    }

    #[test]
    fn parses_labels_names_and_descriptor_columns() {
        let t = FeatureTable::parse(CSV).unwrap();
        assert_eq!(
            t.columns,
            ["a", "b", "c", "d"],
            "filename, length and label are not descriptors"
        );
        assert_eq!(t.labels, ["jazz", "rock"]);
        assert_eq!(t.row_labels, [1, 0, 1, 0]);
        assert_eq!(t.names[3], "x4.wav");
        assert_eq!(t.rows[3], [4.0, 8.5, 4.0, 7.0]);
    }

    #[test]
    fn correlated_and_constant_columns_are_dropped_and_the_rest_standardised() {
        let t = FeatureTable::parse(CSV).unwrap();
        let p = TablePreprocessing::fit(&t, &[0, 1, 2, 3], 0.8).unwrap();
        // b follows a almost exactly (r > 0.99); c correlates with a only at r = -0.38;
        // d is constant.
        assert_eq!(p.columns, ["a", "c"]);
        let v = p.vectors(&t, &[0, 1, 2, 3]);
        let mean: f32 = v.iter().map(|r| r[0]).sum::<f32>() / 4.0;
        let var: f32 = v.iter().map(|r| (r[0] - mean).powi(2)).sum::<f32>() / 4.0;
        assert!(mean.abs() < 1e-6 && (var - 1.0).abs() < 1e-5, "mean {mean} var {var}");
        // Fitted on two rows only, the statistics are theirs.
        let p2 = TablePreprocessing::fit(&t, &[0, 2], 0.8).unwrap();
        assert_eq!(p2.mean[0], 2.0);
    }

    #[test]
    fn bad_tables_are_named() {
        let err = |text: &str| format!("{:#}", FeatureTable::parse(text).unwrap_err());
        assert!(err("a,b\n1,2\n").contains("no `label` column"));
        assert!(err("a,label\n1,rock\nnan,jazz\n").contains("line 3, column `a`"));
        assert!(err("a,label\n1,rock\n2,rock\n").contains("single label"));
        assert!(err("a,label\n").contains("no rows"));
        assert!(err("a,label\n1,rock\n2\n").contains("line 3"));
        assert!(err("filename,label\nx,rock\ny,jazz\n").contains("no descriptor columns"));
    }
}
