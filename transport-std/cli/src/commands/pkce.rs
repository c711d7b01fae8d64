//! `lwa pkce`: a new PKCE code verifier and its S256 challenge, for a companion app's
//! sign-in URL.

use lwa_std::core::pkce::{CHALLENGE_METHOD, CodeVerifier};

use crate::args::Global;
use crate::fail::Fail;

pub(crate) fn run(g: &Global) -> Result<(), Fail> {
    let mut random = [0u8; 32];
    getrandom::fill(&mut random)
        .map_err(|e| Fail::Config(format!("no OS random generator: {e}")))?;
    let verifier = CodeVerifier::from_random(&random).map_err(|e| Fail::Config(e.to_string()))?;
    let challenge = verifier.challenge();
    if g.json {
        outln!(
            "{}",
            serde_json::json!({
                "code_verifier": verifier.as_secret().expose(),
                "code_challenge": challenge.as_str(),
                "code_challenge_method": CHALLENGE_METHOD,
            })
        )?;
    } else {
        outln!("code_verifier: {}", verifier.as_secret().expose())?;
        outln!("code_challenge: {}", challenge.as_str())?;
        outln!("code_challenge_method: {CHALLENGE_METHOD}")?;
    }
    Ok(())
}
