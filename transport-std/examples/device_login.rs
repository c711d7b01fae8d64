//! Code-based linking the way a headless device does it, with lwa-std's driver in the shape
//! of lwa-embedded's: `drive()` carries out the requests and stores and answers with what
//! needs the program (a code to show, a time to wait, a token). Against the local look-alike,
//! which approves the code after two polls:
//!
//! ```sh
//! cargo run -p lwa-std --example device_login
//! ```

use std::error::Error;

use lwa_mock::{MockConfig, MockServer};
use lwa_std::client::Client;
use lwa_std::core::endpoint::Endpoint;
use lwa_std::core::session::{Config, Linking};
use lwa_std::driver::{Driver, Next, Restore};
use lwa_std::store::FileStore;

fn main() -> Result<(), Box<dyn Error>> {
    let mock = MockConfig {
        approve_after_polls: Some(2),
        poll_interval: 1,
        ..MockConfig::default()
    };
    let server = MockServer::start(mock.clone(), false, 0)?;
    let client = Client::new(&Endpoint::parse_origin(server.origin())?)?;
    let dir = std::env::temp_dir().join(format!("lwa-device-login-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let config = Config {
        linking: Some(Linking {
            product_id: "my_device",
            device_serial_number: "12345",
        }),
        ..Config::new(&mock.client_id)
    };
    let store = FileStore::new(dir.join("tokens.json"));
    let mut driver = Driver::open(client, config, store, Restore::Tokens)?;
    loop {
        let now = driver.now();
        match driver.drive()? {
            Next::ShowCode {
                user_code,
                verification_uri,
                ..
            } => println!("open {verification_uri} and enter {user_code}"),
            Next::Wait(until) => {
                println!("waiting {} ms", until.since(now).as_millis());
                std::thread::sleep(until.since(now));
            }
            Next::Ready(token) => {
                println!("signed in: an access token of {} characters", token.len());
                break;
            }
            Next::SignIn | Next::Stopped(_) => return Err("the session stopped".into()),
        }
    }
    println!("{} requests; the tokens are saved", server.requests());
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
