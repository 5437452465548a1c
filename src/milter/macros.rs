//! The MTA's macros, kept per stage of the SMTP session as libmilter
//! keeps them: a stage's macros replace that stage's earlier ones, and
//! each event forgets the stages after it, so that no message reads an
//! earlier message's queue id (`i`) or login (`{auth_authen}`).

/// The stages macros come with (the command byte of their event), in the
/// order of an SMTP session: connect, HELO, MAIL, RCPT, DATA, header, end
/// of headers, body, end of message.
const STAGES: [u8; 9] = [b'C', b'H', b'M', b'R', b'T', b'L', b'N', b'B', b'E'];

#[derive(Debug, Default)]
pub struct Macros {
    stages: [Vec<(String, String)>; STAGES.len()],
}

impl Macros {
    /// The macros sent for `stage`, replacing that stage's earlier ones;
    /// a stage maillint does not know is ignored.
    pub fn set(&mut self, stage: u8, pairs: Vec<(String, String)>) {
        if let Some(i) = index(stage) {
            self.stages[i] = pairs;
        }
    }

    /// The value of `name`, from the latest stage that has it.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.stages
            .iter()
            .rev()
            .flat_map(|pairs| pairs.iter().rev())
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The bytes the macros take in memory, about.
    pub fn bytes(&self) -> usize {
        self.stages
            .iter()
            .flatten()
            .map(|(n, v)| n.len() + v.len() + 2 * std::mem::size_of::<String>())
            .sum()
    }

    /// Forgets the stages after `stage`: its event starts them again.
    pub fn clear_after(&mut self, stage: u8) {
        if let Some(i) = index(stage) {
            self.stages[i + 1..].iter_mut().for_each(Vec::clear);
        }
    }

    /// Forgets `stage` and the stages after it.
    pub fn clear_from(&mut self, stage: u8) {
        if let Some(i) = index(stage) {
            self.stages[i..].iter_mut().for_each(Vec::clear);
        }
    }
}

fn index(stage: u8) -> Option<usize> {
    STAGES.iter().position(|&s| s == stage)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_latest_stage_wins_and_later_stages_are_forgotten() {
        let mut macros = Macros::default();
        macros.set(b'C', pairs(&[("{daemon_name}", "ORIGINATING")]));
        macros.set(b'M', pairs(&[("{auth_authen}", "jane"), ("i", "Q1")]));
        macros.set(b'T', pairs(&[("i", "Q2")]));
        assert_eq!(macros.get("i"), Some("Q2"));
        assert_eq!(macros.get("{auth_authen}"), Some("jane"));
        // The next MAIL forgets RCPT and later, and its macros replace
        // the last MAIL's.
        macros.clear_after(b'M');
        macros.set(b'M', pairs(&[("i", "Q3")]));
        assert_eq!(macros.get("i"), Some("Q3"));
        assert_eq!(macros.get("{auth_authen}"), None);
        macros.clear_from(b'M');
        assert_eq!(macros.get("i"), None);
        assert_eq!(macros.get("{daemon_name}"), Some("ORIGINATING"));
        macros.set(b'?', pairs(&[("i", "Q4")]));
        assert_eq!(macros.get("i"), None, "an unknown stage is ignored");
    }
}
