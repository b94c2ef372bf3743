//! `linkup admin COMMAND [ARGS]`: an operator's command against a running server or cluster.
//! Sent to the server on `<data-dir>/admin.sock` when one answers there; otherwise run here, on
//! the same store and bus (Redis included) a server of this configuration uses, so sockets on
//! every node still hear of it. Exit 0 done, 1 unknown user or refused, 2 bad usage.

use std::process::ExitCode;

use crate::config::Config;
use crate::operators::{self, Command, Outcome};

pub async fn run(config: Config, name: String, args: Vec<String>) -> ExitCode {
    let command = match Command::parse(&name, &args) {
        Ok(command) => command,
        Err(usage) => {
            eprintln!("{usage}");
            return ExitCode::from(2);
        }
    };
    let outcome = match crate::admin::ask(&config, &command).await {
        Some(Ok(outcome)) => outcome,
        Some(Err(err)) => Outcome {
            exit: 1,
            stdout: String::new(),
            stderr: format!("the server on the admin socket did not answer: {err}\n"),
        },
        None => in_process(&config, &command).await,
    };
    print!("{}", outcome.stdout);
    eprint!("{}", outcome.stderr);
    ExitCode::from(outcome.exit)
}

async fn in_process(config: &Config, command: &Command) -> Outcome {
    let state = match crate::server::open_app(config).await {
        Ok(state) => state,
        Err(err) => {
            return Outcome {
                exit: 1,
                stdout: String::new(),
                stderr: format!("cannot open the store: {err:#}\n"),
            };
        }
    };
    let outcome = operators::run(&state, command).await;
    state.bus.flush().await;
    state.shutdown.cancel();
    state.store.close().await;
    outcome
}
