//! Profiles: a named store, client ID, region or endpoint and CA file kept together in the
//! configuration file, so that one host can hold several devices or accounts.
//!
//! The file is `$LWA_CONFIG`, else `<config dir>/lwa/config.toml`, in TOML:
//!
//! ```toml
//! [profiles.kitchen]
//! client_id = "amzn1.application-oa2-client.0123"
//! region = "eu"                   # or endpoint = "https://..."; default na
//! ca_file = "/etc/lwa/extra.pem"  # optional
//! store = "/srv/lwa/kitchen.json" # optional (or "keyring:kitchen"); default
//!                                 # <config dir>/lwa/profiles/kitchen.json
//! ```
//!
//! `--profile NAME` (or `LWA_PROFILE`) fills in what the command line and the environment
//! leave unset. Unknown keys and unknown profiles are errors, not ignored.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::args::{Global, RegionArg};
use crate::context::config_dir;
use crate::fail::Fail;

/// The largest configuration file read.
const MAX_CONFIG_LEN: u64 = 256 * 1024;

/// The configuration file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    /// The profiles by name, in name order.
    #[serde(default)]
    pub(crate) profiles: BTreeMap<String, Profile>,
}

/// One profile.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Profile {
    pub(crate) client_id: Option<String>,
    pub(crate) region: Option<String>,
    pub(crate) endpoint: Option<String>,
    pub(crate) ca_file: Option<PathBuf>,
    pub(crate) store: Option<PathBuf>,
}

/// Where the configuration file is: `$LWA_CONFIG`, else `<config dir>/lwa/config.toml`.
pub(crate) fn config_path() -> Option<PathBuf> {
    std::env::var_os("LWA_CONFIG")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| config_dir().map(|d| d.join("config.toml")))
}

/// Reads the configuration file; a missing file is an empty configuration.
pub(crate) fn load() -> Result<(PathBuf, Config), Fail> {
    use std::io::Read as _;
    let path = config_path().ok_or_else(|| {
        Fail::Config("no configuration file: set LWA_CONFIG (HOME is not set)".into())
    })?;
    let file = match std::fs::File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((path, Config::default())),
        Err(e) => return Err(Fail::Config(format!("{}: {e}", path.display()))),
    };
    let mut text = String::new();
    file.take(MAX_CONFIG_LEN + 1)
        .read_to_string(&mut text)
        .map_err(|e| Fail::Config(format!("{}: {e}", path.display())))?;
    if text.len() as u64 > MAX_CONFIG_LEN {
        return Err(Fail::Config(format!(
            "{}: larger than {MAX_CONFIG_LEN} bytes",
            path.display()
        )));
    }
    let config = parse(&text).map_err(|e| Fail::Config(format!("{}: {e}", path.display())))?;
    Ok((path, config))
}

/// The configuration in `text`, every profile checked.
pub(crate) fn parse(text: &str) -> Result<Config, String> {
    let config: Config = toml::from_str(text).map_err(|e| e.message().to_owned())?;
    for (name, profile) in &config.profiles {
        valid_name(name).map_err(|e| format!("profile {name:?}: {e}"))?;
        if profile.region.is_some() && profile.endpoint.is_some() {
            return Err(format!(
                "profile {name}: region and endpoint both given: keep one"
            ));
        }
        if let Some(region) = &profile.region {
            region_of(region).map_err(|e| format!("profile {name}: {e}"))?;
        }
    }
    Ok(config)
}

/// A profile's name: 1 to 64 letters, digits, `-`, `_` and `.`, not starting with `.`
/// (it names a store file).
fn valid_name(name: &str) -> Result<(), &'static str> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err("a profile name is 1 to 64 letters, digits, '-', '_' or '.', not starting with '.'")
    }
}

fn region_of(name: &str) -> Result<RegionArg, String> {
    match name {
        "na" => Ok(RegionArg::Na),
        "eu" => Ok(RegionArg::Eu),
        "fe" => Ok(RegionArg::Fe),
        _ => Err("region is na, eu or fe".into()),
    }
}

/// The store of profile `name` when it names none: `<config dir>/lwa/profiles/NAME.json`.
pub(crate) fn default_store(name: &str) -> Result<PathBuf, Fail> {
    config_dir()
        .map(|d| d.join("profiles").join(format!("{name}.json")))
        .ok_or_else(|| Fail::Config(format!("profile {name}: no store path (HOME is not set)")))
}

/// The profile `name` of `config`, or an error listing those there are.
pub(crate) fn find<'c>(config: &'c Config, path: &Path, name: &str) -> Result<&'c Profile, Fail> {
    config.profiles.get(name).ok_or_else(|| {
        let known: Vec<&str> = config.profiles.keys().map(String::as_str).collect();
        Fail::Config(if known.is_empty() {
            format!(
                "no profile {name}: {} defines none (see `lwa --help`, FILES)",
                path.display()
            )
        } else {
            format!(
                "no profile {name} in {}: it has {}",
                path.display(),
                known.join(", ")
            )
        })
    })
}

/// Fills in from the profile `--profile` (or `LWA_PROFILE`) names what the command line
/// and the environment left unset.
pub(crate) fn apply(g: &mut Global) -> Result<(), Fail> {
    let Some(name) = g.profile.clone() else {
        return Ok(());
    };
    let (path, config) = load()?;
    let profile = find(&config, &path, &name)?;
    fill(g, &name, profile)
}

/// [`apply`] for one profile.
pub(crate) fn fill(g: &mut Global, name: &str, profile: &Profile) -> Result<(), Fail> {
    if g.store.is_none() {
        g.store = Some(
            match &profile.store {
                Some(path) => path.clone(),
                None => default_store(name)?,
            }
            .into_os_string(),
        );
    }
    if g.client_id.is_none() {
        g.client_id.clone_from(&profile.client_id);
    }
    // Either names the origin: one from the command line wins over the profile's either.
    if g.endpoint.is_none() && g.region.is_none() {
        g.endpoint.clone_from(&profile.endpoint);
        g.region = profile
            .region
            .as_deref()
            .map(region_of)
            .transpose()
            .map_err(|e| Fail::Config(format!("profile {name}: {e}")))?;
    }
    if g.ca_file.is_none() {
        g.ca_file.clone_from(&profile.ca_file);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_file_is_read_and_checked() {
        let config = parse(
            "[profiles.kitchen]\nclient_id = \"c1\"\nregion = \"eu\"\n\n[profiles.bench]\nendpoint = \"https://localhost:8443\"\nstore = \"/tmp/b.json\"\n",
        )
        .unwrap();
        let names: Vec<&str> = config.profiles.keys().map(String::as_str).collect();
        assert_eq!(names, ["bench", "kitchen"]);
        assert_eq!(config.profiles["kitchen"].client_id.as_deref(), Some("c1"));
        assert_eq!(
            config.profiles["bench"].store.as_deref(),
            Some(Path::new("/tmp/b.json"))
        );
        assert!(parse("").unwrap().profiles.is_empty());
        for (text, error) in [
            ("[profiles.a]\nclient = \"x\"\n", "unknown field `client`"),
            (
                "[profiles.a]\nregion = \"us\"\n",
                "profile a: region is na, eu or fe",
            ),
            (
                "[profiles.a]\nregion = \"eu\"\nendpoint = \"https://x\"\n",
                "profile a: region and endpoint both given: keep one",
            ),
            (
                "[profiles.\"../x\"]\n",
                "profile \"../x\": a profile name is 1 to 64",
            ),
            ("[other]\n", "unknown field `other`"),
            ("[profiles.a\n", "unclosed table"),
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.contains(error), "{text:?}: {e}");
        }
    }

    #[test]
    fn the_profile_fills_in_only_what_is_unset() {
        use clap::Parser as _;
        let profile = Profile {
            client_id: Some("from-profile".into()),
            region: Some("fe".into()),
            endpoint: None,
            ca_file: Some("/p.pem".into()),
            store: None,
        };
        let cli =
            crate::args::Cli::try_parse_from(["lwa", "--client-id", "given", "status"]).unwrap();
        let mut g = cli.global;
        g.store = Some("/given.json".into());
        fill(&mut g, "k", &profile).unwrap();
        assert_eq!(g.client_id.as_deref(), Some("given"));
        assert_eq!(
            g.store.as_deref(),
            Some(std::ffi::OsStr::new("/given.json"))
        );
        assert!(matches!(g.region, Some(RegionArg::Fe)));
        assert_eq!(g.ca_file.as_deref(), Some(Path::new("/p.pem")));
        // An endpoint on the command line: the profile's region is not used.
        let cli =
            crate::args::Cli::try_parse_from(["lwa", "--endpoint", "https://x", "status"]).unwrap();
        let mut g = cli.global;
        fill(&mut g, "k", &profile).unwrap();
        assert!(g.region.is_none());
    }
}
