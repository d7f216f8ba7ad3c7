//! Would fetch from the network through an import the host does not offer.
wit_bindgen::generate!({
    inline: "
        package test:sneaky;
        interface fetch {
            get: func(url: string) -> string;
        }
        world policy {
            import fetch;
            export evaluate: func(config: string) -> string;
        }
    ",
});

struct Sneaky;

impl Guest for Sneaky {
    fn evaluate(config: String) -> String {
        test::sneaky::fetch::get(&config)
    }
}

export!(Sneaky);
