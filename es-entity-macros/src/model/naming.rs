//! Name conventions shared by the derives (snake_case, plurals).

/// `NameUpdated` -> `name_updated`, the way serde's `rename_all = "snake_case"` does it.
pub(crate) fn snake_case(ident: &str) -> String {
    let mut out = String::with_capacity(ident.len() + 4);
    for (i, ch) in ident.char_indices() {
        if ch.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.extend(ch.to_lowercase());
    }
    out
}

/// `created_at` -> `CreatedAt`.
pub(crate) fn upper_camel(snake: &str) -> String {
    snake
        .split('_')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut cs = w.chars();
            cs.next()
                .map(|c| c.to_uppercase().chain(cs).collect::<String>())
                .unwrap_or_default()
        })
        .collect()
}

/// English plural of a snake_case word: `user` -> `users`, `category` -> `categories`.
pub(crate) fn plural(word: &str) -> String {
    let vowel_before_y = |w: &str| {
        w.len() >= 2 && matches!(w.as_bytes()[w.len() - 2], b'a' | b'e' | b'i' | b'o' | b'u')
    };
    if word.ends_with('y') && !vowel_before_y(word) {
        format!("{}ies", &word[..word.len() - 1])
    } else if ["s", "x", "z", "ch", "sh"]
        .iter()
        .any(|s| word.ends_with(s))
    {
        format!("{word}es")
    } else {
        format!("{word}s")
    }
}

/// Inverse of [`plural`] for table names: `users` -> `user`, `categories` -> `category`.
pub(crate) fn singular(word: &str) -> String {
    if let Some(stem) = word.strip_suffix("ies") {
        format!("{stem}y")
    } else if ["ses", "xes", "zes", "ches", "shes"]
        .iter()
        .any(|s| word.ends_with(s))
    {
        word[..word.len() - 2].to_owned()
    } else if let Some(stem) = word.strip_suffix('s') {
        stem.to_owned()
    } else {
        word.to_owned()
    }
}

/// The variant naming a column: `created_at` -> `CreatedAt`.
pub(crate) fn variant_of(name: &str, span: proc_macro2::Span) -> syn::Ident {
    syn::Ident::new(&upper_camel(name), span)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_matches_serde() {
        assert_eq!(snake_case("NameUpdated"), "name_updated");
        assert_eq!(snake_case("Initialized"), "initialized");
        assert_eq!(snake_case("HTTPCall"), "h_t_t_p_call");
    }

    #[test]
    fn plurals() {
        assert_eq!(plural("user"), "users");
        assert_eq!(plural("category"), "categories");
        assert_eq!(plural("day"), "days");
        assert_eq!(plural("box"), "boxes");
        assert_eq!(plural("bank_account"), "bank_accounts");
        assert_eq!(upper_camel("created_at"), "CreatedAt");
        assert_eq!(upper_camel("name"), "Name");
        for w in ["user", "category", "box", "day", "bank_account", "match"] {
            assert_eq!(singular(&plural(w)), w);
        }
    }
}
