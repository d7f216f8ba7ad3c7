//! Exports `evaluate`, but not with the signature of the `policy` world.
wit_bindgen::generate!({
    inline: "
        package test:lookalike;
        world policy {
            export evaluate: func(config: string) -> string;
        }
    ",
});

struct Lookalike;

impl Guest for Lookalike {
    fn evaluate(config: String) -> String {
        config
    }
}

export!(Lookalike);
