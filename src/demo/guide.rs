//! What a new user needs to try a demo: the dealers it made, by region, and the exact
//! commands that give one of them a token and serve the data as that dealer sees it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{DemoConfig, DemoError, catalog};

/// The guide printed after a demo filled `data_dir`.
pub fn guide(config: &DemoConfig, data_dir: &std::path::Path) -> Result<String, DemoError> {
    let network = catalog::dealers(config.dealers, config.regions)?;
    let mut by_region: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for dealer in &network {
        by_region
            .entry(dealer.region.as_str())
            .or_default()
            .push(dealer.code.as_str());
    }
    let mut out = String::from("dealers by region:\n");
    for (region, codes) in &by_region {
        // Writing into a String cannot fail.
        let _ = writeln!(out, "  {region:<10} {}", codes.join(" "));
    }
    let first = &network[0];
    let dir = data_dir.display();
    let tokens = format!("{dir}/tokens.toml");
    let code = first.code.as_str();
    let region = first.region.as_str();
    let identity = format!("dms-{}", code.to_ascii_lowercase());
    let _ = writeln!(
        out,
        "try it as dealer {code} (region {region}), and as the CAC of its region:"
    );
    let _ = writeln!(
        out,
        "  complaintflow token issue --tokens {tokens} --identity {identity} --role dealer --dealer {code} --region {region}"
    );
    let _ = writeln!(
        out,
        "  complaintflow token issue --tokens {tokens} --identity cac-{} --role cac --region {region}",
        region.to_ascii_lowercase()
    );
    let _ = write!(
        out,
        "  complaintflow serve --data-dir {dir} --tokens {tokens}"
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guide_names_every_dealer_with_its_region_and_a_working_token_command() {
        let config = DemoConfig::default();
        let text = guide(&config, std::path::Path::new("demo-data")).expect("guide");
        let network = catalog::dealers(config.dealers, config.regions).expect("dealers");
        for dealer in &network {
            let line = text
                .lines()
                .find(|line| line.split_whitespace().any(|w| w == dealer.code.as_str()))
                .unwrap_or_else(|| panic!("{} missing from:\n{text}", dealer.code));
            assert_eq!(line.split_whitespace().next(), Some(dealer.region.as_str()));
        }
        assert!(text.contains(
            "complaintflow token issue --tokens demo-data/tokens.toml --identity dms-sh-0042 \
             --role dealer --dealer SH-0042 --region EAST"
        ));
        assert!(
            text.contains(
                "complaintflow serve --data-dir demo-data --tokens demo-data/tokens.toml"
            )
        );
    }
}
