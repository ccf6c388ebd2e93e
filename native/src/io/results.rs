//! Retrieval results as files, one row per query (`oml predict`): the query's id, its gallery
//! ids (nearest first), their distances and, where labels exist, whether each is a positive
//! (`is_correct`). JSON Lines, CSV (list cells as JSON arrays) or Parquet (list columns), by
//! extension; written atomically.

use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{BooleanBuilder, Float32Builder, ListBuilder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};

use super::write_atomically;

/// One query's results.
#[derive(Debug, Clone, PartialEq)]
pub struct PredictedRow {
    pub query: String,
    pub gallery: Vec<String>,
    pub distances: Vec<f32>,
    /// With labels on both sides.
    pub is_correct: Option<Vec<bool>>,
}

/// The formats, by file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultsFormat {
    Jsonl,
    Csv,
    Parquet,
}

impl ResultsFormat {
    /// The format `path`'s extension names; an error names the ones there are.
    pub fn of(path: &Path) -> anyhow::Result<Self> {
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("jsonl") => Ok(Self::Jsonl),
            Some("csv") => Ok(Self::Csv),
            Some("parquet") => Ok(Self::Parquet),
            _ => anyhow::bail!(
                "{}: the results are written as .jsonl, .csv or .parquet (by extension)",
                path.display()
            ),
        }
    }
}

/// Writes `rows` to `path` in the format its extension names.
pub fn write_results(path: &Path, rows: &[PredictedRow]) -> anyhow::Result<()> {
    let bytes = match ResultsFormat::of(path)? {
        ResultsFormat::Jsonl => jsonl_bytes(rows)?,
        ResultsFormat::Csv => csv_bytes(rows)?,
        ResultsFormat::Parquet => parquet_bytes(rows)?,
    };
    write_atomically(path, &bytes)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))
}

/// A JSONL line: keys in this order, distances in float32's shortest form.
#[derive(serde::Serialize)]
struct JsonRow<'a> {
    query: &'a str,
    gallery: &'a [String],
    distances: &'a [f32],
    #[serde(skip_serializing_if = "Option::is_none")]
    is_correct: Option<&'a [bool]>,
}

fn jsonl_bytes(rows: &[PredictedRow]) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    for row in rows {
        let line = JsonRow {
            query: &row.query,
            gallery: &row.gallery,
            distances: &row.distances,
            is_correct: row.is_correct.as_deref(),
        };
        serde_json::to_writer(&mut out, &line)?;
        out.push(b'\n');
    }
    Ok(out)
}

/// Columns `query`, `gallery`, `distances` and `is_correct` (when known); the list cells hold
/// JSON arrays, which every CSV reader keeps as one field.
fn csv_bytes(rows: &[PredictedRow]) -> anyhow::Result<Vec<u8>> {
    let labelled = rows.iter().any(|r| r.is_correct.is_some());
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["query", "gallery", "distances"];
    if labelled {
        header.push("is_correct");
    }
    writer.write_record(&header)?;
    for row in rows {
        let mut record = vec![
            row.query.clone(),
            serde_json::to_string(&row.gallery)?,
            serde_json::to_string(&row.distances)?,
        ];
        if labelled {
            record.push(serde_json::to_string(&row.is_correct)?);
        }
        writer.write_record(&record)?;
    }
    writer.into_inner().map_err(|e| anyhow::anyhow!("{e}"))
}

/// Columns `query` (utf8), `gallery` (list of utf8), `distances` (list of float32) and
/// `is_correct` (list of bool, when known), Snappy-compressed.
fn parquet_bytes(rows: &[PredictedRow]) -> anyhow::Result<Vec<u8>> {
    let labelled = rows.iter().any(|r| r.is_correct.is_some());
    let mut gallery = ListBuilder::new(StringBuilder::new());
    let mut distances = ListBuilder::new(Float32Builder::new());
    let mut correct = ListBuilder::new(BooleanBuilder::new());
    for row in rows {
        for id in &row.gallery {
            gallery.values().append_value(id);
        }
        gallery.append(true);
        distances.values().append_slice(&row.distances);
        distances.append(true);
        if let Some(c) = &row.is_correct {
            for &b in c {
                correct.values().append_value(b);
            }
        }
        correct.append(row.is_correct.is_some());
    }
    let list = |item: DataType| DataType::List(Arc::new(Field::new("item", item, true)));
    let mut fields = vec![
        Field::new("query", DataType::Utf8, false),
        Field::new("gallery", list(DataType::Utf8), false),
        Field::new("distances", list(DataType::Float32), false),
    ];
    let queries = StringArray::from_iter_values(rows.iter().map(|r| r.query.as_str()));
    let mut columns: Vec<ArrayRef> =
        vec![Arc::new(queries), Arc::new(gallery.finish()), Arc::new(distances.finish())];
    if labelled {
        fields.push(Field::new("is_correct", list(DataType::Boolean), true));
        columns.push(Arc::new(correct.finish()));
    }
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(Arc::clone(&schema), columns)?;
    let props = parquet::file::properties::WriterProperties::builder()
        .set_compression(parquet::basic::Compression::SNAPPY)
        .set_created_by(crate::saved::producer())
        .build();
    let mut out = Vec::new();
    let mut writer = parquet::arrow::ArrowWriter::try_new(&mut out, schema, Some(props))?;
    writer.write(&batch)?;
    writer.close()?;
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn rows() -> Vec<PredictedRow> {
        vec![
            PredictedRow {
                query: "q,1.png".into(),
                gallery: vec!["a.png".into(), "b \"x\".png".into()],
                distances: vec![0.25, 0.5],
                is_correct: Some(vec![true, false]),
            },
            PredictedRow {
                query: "q2.png".into(),
                gallery: vec![],
                distances: vec![],
                is_correct: Some(vec![]),
            },
        ]
    }

    #[test]
    fn every_format_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let jsonl = dir.path().join("r.jsonl");
        write_results(&jsonl, &rows()).unwrap();
        let text = std::fs::read_to_string(&jsonl).unwrap();
        assert!(text.starts_with("{\"query\":\"q,1.png\",\"gallery\""), "{text}");
        assert!(text.contains("\"distances\":[0.25,0.5]"), "{text}");
        let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(first["gallery"][1], "b \"x\".png");
        assert_eq!(first["is_correct"], serde_json::json!([true, false]));

        let csv_path = dir.path().join("r.csv");
        write_results(&csv_path, &rows()).unwrap();
        let mut reader = csv::Reader::from_path(&csv_path).unwrap();
        let record = reader.records().next().unwrap().unwrap();
        assert_eq!(&record[0], "q,1.png");
        let gallery: Vec<String> = serde_json::from_str(&record[1]).unwrap();
        assert_eq!(gallery, rows()[0].gallery);

        let parquet = dir.path().join("r.parquet");
        write_results(&parquet, &rows()).unwrap();
        let file = std::fs::File::open(&parquet).unwrap();
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap();
        let batch = reader.into_iter().next().unwrap().unwrap();
        assert_eq!(batch.num_rows(), 2);
        assert_eq!(batch.schema().field(3).name(), "is_correct");

        let e = write_results(&dir.path().join("r.txt"), &rows()).unwrap_err();
        assert!(e.to_string().contains(".jsonl, .csv or .parquet"), "{e}");
    }
}
