//! Singular and plural forms of the English nouns in `nouns.tsv`, both ways, and of snake_case names.

use codebegen_schema::names::{plural_word, pluralize, singular_word, singularize};

const NOUNS: &str = include_str!("nouns.tsv");

/// The `(singular, plural)` pairs of `nouns.tsv`, without its comments and blank lines.
fn noun_pairs() -> Vec<(&'static str, &'static str)> {
    NOUNS
        .lines()
        .map(str::trim_end)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            line.split_once('\t')
                .unwrap_or_else(|| panic!("`{line}` is not singular<TAB>plural"))
        })
        .collect()
}

#[test]
fn the_word_list_is_large_and_well_formed() {
    let pairs = noun_pairs();
    assert!(pairs.len() >= 500, "only {} nouns", pairs.len());
    let mut singulars: Vec<&str> = pairs.iter().map(|(singular, _)| *singular).collect();
    singulars.sort_unstable();
    let n_words = singulars.len();
    singulars.dedup();
    assert_eq!(singulars.len(), n_words, "a singular is listed twice");
    let n_uncountable = pairs.iter().filter(|(s, p)| s == p).count();
    assert!(
        n_uncountable >= 25,
        "only {n_uncountable} uncountable nouns"
    );
    for (singular, plural) in &pairs {
        for word in [singular, plural] {
            assert!(
                !word.is_empty() && word.chars().all(|c| c.is_ascii_lowercase()),
                "`{word}` is not one lowercase word"
            );
        }
    }
}

#[test]
fn every_noun_inflects_both_ways_and_keeps_its_number() {
    let mut misses = Vec::new();
    for (singular, plural) in noun_pairs() {
        let checks = [
            ("plural_word", singular, plural_word(singular), plural),
            ("singular_word", plural, singular_word(plural), singular),
            ("plural_word", plural, plural_word(plural), plural),
            ("singular_word", singular, singular_word(singular), singular),
        ];
        for (function, input, got, expected) in checks {
            if got != expected {
                misses.push(format!("{function}({input}) = {got}, expected {expected}"));
            }
        }
    }
    assert!(
        misses.is_empty(),
        "{} misses:\n{}",
        misses.len(),
        misses.join("\n")
    );
}

#[test]
fn snake_case_names_change_their_last_word() {
    for (singular, plural) in [
        ("blog_post", "blog_posts"),
        ("order_item", "order_items"),
        ("shipment_line", "shipment_lines"),
        ("user_status", "user_statuses"),
        ("product_category", "product_categories"),
        ("sales_person", "sales_people"),
        ("news_item", "news_items"),
        ("menu", "menus"),
    ] {
        assert_eq!(pluralize(singular), plural, "pluralize({singular})");
        assert_eq!(pluralize(plural), plural, "pluralize({plural})");
        assert_eq!(singularize(plural), singular, "singularize({plural})");
        assert_eq!(singularize(singular), singular, "singularize({singular})");
    }
}

#[test]
fn phrases_and_pascal_case_become_snake_case() {
    assert_eq!(pluralize("BlogPost"), "blog_posts");
    assert_eq!(pluralize("order item"), "order_items");
    assert_eq!(singularize("ShipmentLines"), "shipment_line");
    assert_eq!(singularize("warehouses"), "warehouse");
    assert_eq!(pluralize(""), "");
    assert_eq!(singularize(""), "");
}
