//! One bad file per check of OML's CSV format: each must fail with the right kind, naming the
//! file, the line (1-based, header = line 1) and the column.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use oml_core::dataset::{DatasetErrorKind, DatasetWarning, Split, check_paths_exist, read_dataset};

const HEADER: &str = "label,path,split,is_query,is_gallery";

fn csv(rows: &[&str]) -> String {
    let mut s = HEADER.to_owned();
    for r in rows {
        s.push('\n');
        s.push_str(r);
    }
    s
}

/// Reads `text`, expects an error at `line`/`column` of `kind`'s variant, returns the message.
fn expect_error(
    text: &str,
    line: Option<u64>,
    column: Option<&str>,
    kind: fn(&DatasetErrorKind) -> bool,
) -> String {
    let err = read_dataset(text.as_bytes(), "bad.csv").unwrap_err();
    assert!(kind(&err.kind), "unexpected kind {:?}", err.kind);
    assert_eq!(err.line, line, "{err}");
    assert_eq!(err.column.as_deref(), column, "{err}");
    let msg = err.to_string();
    assert!(msg.starts_with("bad.csv"), "{msg}");
    if let Some(line) = line {
        assert!(msg.starts_with(&format!("bad.csv:{line}: ")), "{msg}");
    }
    if let Some(column) = column {
        assert!(msg.contains(&format!("column `{column}`")), "{msg}");
    }
    msg
}

#[test]
fn a_good_file_reads_with_all_optional_columns() {
    let text = "label,path,split,is_query,is_gallery,category,sequence,x_1,y_1,x_2,y_2,extra,domain\n\
                7,a.png,train,,,shoes,s1,0,0,10,20,ignored,shop\n\
                7,b.png,train,,,shoes,,,,,,,street\n\
                3,c.png,validation,True,False,bags,s2,1.0,2.0,3.0,4.0,,\n\
                3,d.png,validation,0,1,bags,s2,,,,,,\n\
                3,  e.png  ,validation,true,true,bags,,,,,,,";
    let ds = read_dataset(text.as_bytes(), "good.csv").unwrap();
    assert_eq!(ds.records().len(), 5);
    let r = &ds.records()[2];
    assert_eq!(
        (r.line, r.label, r.split, r.is_query, r.is_gallery),
        (4, 3, Split::Validation, true, false)
    );
    assert_eq!(r.bbox.map(|b| (b.x1, b.y1, b.x2, b.y2)), Some((1, 2, 3, 4)));
    assert_eq!(ds.records()[1].bbox, None);
    assert_eq!(ds.records()[1].sequence, None);
    assert_eq!(ds.records()[4].path, "e.png", "cells are trimmed");
    let domains: Vec<_> = ds.records().iter().map(|r| r.domain.as_deref()).collect();
    assert_eq!(domains, [Some("shop"), Some("street"), None, None, None]);
    assert!(ds.has_category() && ds.has_sequence());
    assert_eq!(ds.train_rows(), vec![0, 1]);
    assert_eq!(ds.validation_rows(), vec![2, 3, 4]);
    assert!(ds.warnings().is_empty());
    let labels = ds.label_map();
    assert_eq!((labels.dense(7), labels.dense(3), labels.n_train_labels()), (Some(0), Some(1), 1));
    assert_eq!(labels.original(1), Some(3));
}

#[test]
fn missing_column() {
    let msg = expect_error(
        "label,path,split,is_query\n1,a.png,train,",
        Some(1),
        Some("is_gallery"),
        |k| matches!(k, DatasetErrorKind::MissingColumn { .. }),
    );
    assert!(msg.contains("label, path, split, is_query"), "{msg}");
}

#[test]
fn incomplete_bbox_columns() {
    let msg = expect_error(&format!("{HEADER},x_1,y_1\n1,a.png,train,,,0,0"), Some(1), None, |k| {
        matches!(k, DatasetErrorKind::IncompleteBBoxColumns { .. })
    });
    assert!(msg.contains("x_2, y_2"), "{msg}");
}

#[test]
fn no_rows() {
    expect_error(HEADER, None, None, |k| matches!(k, DatasetErrorKind::NoRows));
}

#[test]
fn ragged_csv() {
    expect_error(&csv(&["1,a.png,train,,", "1,b.png,train"]), Some(3), None, |k| {
        matches!(k, DatasetErrorKind::Csv(_))
    });
}

#[test]
fn non_integer_label() {
    for bad in ["1.5", "x", "", "2.0"] {
        let msg = expect_error(
            &csv(&["1,a.png,train,,", &format!("{bad},b.png,train,,")]),
            Some(3),
            Some("label"),
            |k| matches!(k, DatasetErrorKind::NotAnInteger { .. }),
        );
        assert!(msg.contains(&format!("{bad:?}")), "{msg}");
    }
}

#[test]
fn unknown_split() {
    let msg = expect_error(&csv(&["1,a.png,test,True,True"]), Some(2), Some("split"), |k| {
        matches!(k, DatasetErrorKind::UnknownSplit { .. })
    });
    assert!(msg.contains("\"test\""), "{msg}");
}

#[test]
fn train_row_with_role() {
    for (row, column) in
        [("1,a.png,train,True,", "is_query"), ("1,a.png,train,,False", "is_gallery")]
    {
        expect_error(&csv(&[row]), Some(2), Some(column), |k| {
            matches!(k, DatasetErrorKind::RoleOnTrainRow { .. })
        });
    }
}

#[test]
fn validation_row_without_boolean_role() {
    for (row, column) in
        [("1,a.png,validation,,True", "is_query"), ("1,a.png,validation,True,maybe", "is_gallery")]
    {
        expect_error(&csv(&[row]), Some(2), Some(column), |k| {
            matches!(k, DatasetErrorKind::NotABool { .. })
        });
    }
}

#[test]
fn validation_row_neither_query_nor_gallery() {
    expect_error(
        &csv(&["1,a.png,validation,True,True", "1,b.png,validation,False,0"]),
        Some(3),
        Some("is_query"),
        |k| matches!(k, DatasetErrorKind::NeitherQueryNorGallery),
    );
}

#[test]
fn query_label_absent_from_gallery() {
    let msg = expect_error(
        &csv(&[
            "1,a.png,validation,True,True",
            "1,b.png,validation,False,True",
            "2,c.png,validation,True,False",
        ]),
        Some(4),
        Some("label"),
        |k| matches!(k, DatasetErrorKind::QueryLabelNotInGallery { label: 2 }),
    );
    assert!(msg.contains("label 2"), "{msg}");
}

#[test]
fn incomplete_bbox() {
    let msg = expect_error(
        &format!("{HEADER},x_1,y_1,x_2,y_2\n1,a.png,train,,,0,0,10,\n"),
        Some(2),
        Some("y_2"),
        |k| matches!(k, DatasetErrorKind::IncompleteBBox { .. }),
    );
    assert!(msg.contains("y_2"), "{msg}");
}

#[test]
fn inverted_bbox() {
    expect_error(
        &format!("{HEADER},x_1,y_1,x_2,y_2\n1,a.png,train,,,0,0,10,10\n1,b.png,train,,,5,0,5,10"),
        Some(3),
        Some("x_1"),
        |k| matches!(k, DatasetErrorKind::InvertedBBox { low_name: "x_1", .. }),
    );
    expect_error(
        &format!("{HEADER},x_1,y_1,x_2,y_2\n1,a.png,train,,,0,9,10,3"),
        Some(2),
        Some("y_1"),
        |k| matches!(k, DatasetErrorKind::InvertedBBox { low_name: "y_1", .. }),
    );
}

#[test]
fn bad_bbox_coordinate() {
    for bad in ["-1", "2.5", "left"] {
        expect_error(
            &format!("{HEADER},x_1,y_1,x_2,y_2\n1,a.png,train,,,{bad},0,10,10"),
            Some(2),
            Some("x_1"),
            |k| matches!(k, DatasetErrorKind::BadCoordinate { .. }),
        );
    }
}

#[test]
fn empty_path() {
    expect_error(&csv(&["1,,train,,"]), Some(2), Some("path"), |k| {
        matches!(k, DatasetErrorKind::EmptyPath)
    });
}

#[test]
fn quoted_multiline_cells_keep_line_numbers_right() {
    // The second record starts on line 4 because the first spans lines 2-3.
    let text = format!("{HEADER}\n1,\"a\nb.png\",train,,\nx,c.png,train,,");
    expect_error(&text, Some(4), Some("label"), |k| {
        matches!(k, DatasetErrorKind::NotAnInteger { .. })
    });
}

#[test]
fn missing_image() {
    let ds = read_dataset(csv(&["1,here.png,train,,", "1,gone.png,train,,"]).as_bytes(), "df.csv")
        .unwrap();
    let err = check_paths_exist(&ds, Path::new("/data"), |p| p.ends_with("here.png")).unwrap_err();
    assert_eq!((err.line, err.column.as_deref()), (Some(3), Some("path")));
    assert!(matches!(err.kind, DatasetErrorKind::PathNotFound { .. }));
    let msg = err.to_string();
    assert!(msg.starts_with("df.csv:3: column `path`") && msg.contains("/data/gone.png"), "{msg}");
    // Absolute paths ignore the root.
    let ds = read_dataset(csv(&["1,/abs/x.png,train,,"]).as_bytes(), "df.csv").unwrap();
    check_paths_exist(&ds, Path::new("/data"), |p| p == Path::new("/abs/x.png")).unwrap();
}

#[test]
fn label_in_several_categories_is_a_warning() {
    let text = "label,path,split,is_query,is_gallery,category\n1,a,train,,,x\n2,b,train,,,x\n1,c,train,,,y";
    let ds = read_dataset(text.as_bytes(), "df.csv").unwrap();
    assert_eq!(
        ds.warnings(),
        &[DatasetWarning::LabelInSeveralCategories {
            label: 1,
            categories: vec!["x".into(), "y".into()],
            first_line: 2
        }]
    );
}
