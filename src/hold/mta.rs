//! What maillint asks of the MTA for held mail: its commands that release
//! or delete a message in its hold queue, and its `sendmail` that sends
//! the sender's notifications.

use std::io::Write;
use std::process::{Command, Stdio};

/// Whether `id` looks like a queue id (Postfix: hex or long ids;
/// Sendmail: letters and digits): nothing else is put on a command line,
/// and never `ALL`, which Postfix's commands take for the whole queue.
pub fn valid_queue_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id.bytes().all(|b| b.is_ascii_alphanumeric())
        && !id.eq_ignore_ascii_case("ALL")
}

/// Runs `commands` in order for queue id `id` (`{id}` in their words);
/// the first failure, with what the command said.
pub fn run_commands(commands: &[Vec<String>], id: &str) -> Result<(), String> {
    if !valid_queue_id(id) {
        return Err(format!("`{id}` is not a queue id"));
    }
    for words in commands {
        let words: Vec<String> = words.iter().map(|w| w.replace("{id}", id)).collect();
        let Some((program, args)) = words.split_first() else {
            continue;
        };
        let out = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("{program}: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "`{}` failed ({}): {}",
                words.join(" "),
                out.status,
                crate::guard::one_line(String::from_utf8_lossy(&out.stderr).trim())
            ));
        }
    }
    Ok(())
}

/// Sends `message` to `to` through the MTA's `sendmail` (its program and
/// arguments), from `from`.
pub fn send(sendmail: &[String], from: &str, to: &str, message: &str) -> Result<(), String> {
    let Some((program, args)) = sendmail.split_first() else {
        return Err("[hold] sendmail is empty".into());
    };
    let mut child = Command::new(program)
        .args(args)
        .args(["-i", "-f", from, "--", to])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{program}: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(message.as_bytes())
            .map_err(|e| format!("{program}: {e}"))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("{program}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{program} failed ({}): {}",
            out.status,
            crate::guard::one_line(String::from_utf8_lossy(&out.stderr).trim())
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_queue_ids_reach_a_command_line() {
        assert!(valid_queue_id("4XkQ7n2bVzz9sQ"));
        for bad in ["", "ALL", "-d ALL", "ALL;rm", "a b", "../x"] {
            assert!(!valid_queue_id(bad), "{bad}");
            assert!(run_commands(&[vec!["true".into()]], bad).is_err());
        }
        assert!(run_commands(&[vec!["true".into(), "{id}".into()]], "ABC").is_ok());
        let failed = run_commands(&[vec!["false".into()]], "ABC").unwrap_err();
        assert!(failed.contains("`false` failed"), "{failed}");
    }
}
