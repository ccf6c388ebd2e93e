//! Property tests of the dataset CSV reader (part of the fuzz suite CI runs): arbitrary text
//! and valid files with cells replaced give a dataset or an error that names the source,
//! never a panic; every dataset read back holds consistent rows.
#![allow(clippy::unwrap_used)]

use oml_core::dataset::read_dataset;
use oml_core::retrieval::QueryGallery;
use proptest::prelude::*;

const VALID: &str = "label,path,split,is_query,is_gallery,category,sequence,x_1,x_2,y_1,y_2\n\
    19,a.png,validation,True,False,bags,s0,0,0,5,5\n\
    19,b.png,validation,False,True,bags,s1,1,1,4,4\n\
    7,c.png,train,,,hats,s0,,,,\n\
    7,d.png,train,,,hats,s2,,,,\n";

/// Cells a careless or hostile file might hold.
fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("True".to_owned()),
        Just("nan".to_owned()),
        Just("-1".to_owned()),
        Just("18446744073709551616".to_owned()),
        Just("1e308".to_owned()),
        Just("\"a,\nb\"".to_owned()),
        Just("validation".to_owned()),
        Just("\u{0}".to_owned()),
        "[a-z0-9 .,_\"-]{0,12}",
    ]
}

fn check(text: &str) {
    match read_dataset(text.as_bytes(), "fuzz.csv") {
        Ok(dataset) => {
            // A dataset that reads is usable: its validation rows form a query/gallery set or
            // give a clear error.
            let rows = dataset.validation_rows();
            let _ = QueryGallery::from_dataset(&dataset, &rows);
            assert!(dataset.records().len() <= text.lines().count());
        }
        Err(e) => assert!(e.to_string().contains("fuzz.csv"), "{e}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in "(?s).{0,400}") {
        check(&text);
    }

    #[test]
    fn a_valid_file_with_cells_replaced_never_panics(
        edits in proptest::collection::vec((0usize..5, 0usize..11, cell()), 1..6),
        drop_line in proptest::option::of(0usize..5),
    ) {
        let mut lines: Vec<Vec<String>> =
            VALID.lines().map(|l| l.split(',').map(str::to_owned).collect()).collect();
        for (row, col, value) in edits {
            lines[row][col] = value;
        }
        if let Some(i) = drop_line {
            lines.remove(i);
        }
        let text: String = lines.iter().map(|l| l.join(",") + "\n").collect();
        check(&text);
    }
}
