//! [`StoreRetryPolicy`]: which failed request attempts the driver sends again, by the kind of
//! error. The decision is a pure function ([`decide`]) of the error's kind, whether the
//! statement is idempotent, and the attempts made so far, so it is tested without a server.
//!
//! | failure | idempotent | not idempotent (LWT) |
//! | --- | --- | --- |
//! | connection broke mid-request | next node | give up (it may have applied) |
//! | overloaded / server error / stream ids exhausted | next node | give up / next node (not sent) |
//! | too few live replicas (`Unavailable`) | next node, once | next node, once (nothing was written) |
//! | read timeout with enough replies but no data | same node, once | — |
//! | write timeout of a batch log write | same node, once | give up |
//! | node still bootstrapping | next node | next node (it did not run it) |
//! | anything else (syntax, invalid, auth, other timeouts) | give up | give up |
//!
//! At most [`MAX_RETRIES`] retries per request; the request timeout bounds them all.

use scylla::errors::{DbError, RequestAttemptError, WriteType};
use scylla::policies::retry::{RequestInfo, RetryDecision, RetryPolicy, RetrySession};

/// Retries per request, whatever the errors.
pub const MAX_RETRIES: u32 = 3;

/// The kinds of failure the policy tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The connection broke: unknown whether the request ran.
    BrokenConnection,
    /// The node is overloaded or failed internally.
    NodeTrouble,
    /// No stream id left on the connection: the request was not sent.
    NotSent,
    /// The coordinator saw too few live replicas: nothing was written.
    TooFewReplicas,
    /// A read timed out although enough replicas replied, none with data.
    ReadTimeoutWithoutData,
    /// A batch-log write timed out.
    BatchLogWriteTimeout,
    /// The node is bootstrapping and did not run the request.
    Bootstrapping,
    /// Anything a retry will not fix, or whose outcome is unknown.
    Final,
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    SameNode,
    NextNode,
    GiveUp,
}

/// Remembers which one-shot retries a request has used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Attempts {
    retries: u32,
    too_few_replicas: bool,
    read_timeout: bool,
    write_timeout: bool,
}

/// The policy's table.
pub(crate) fn decide(failure: Failure, idempotent: bool, attempts: &mut Attempts) -> Decision {
    if attempts.retries >= MAX_RETRIES {
        return Decision::GiveUp;
    }
    let decision = match failure {
        Failure::BrokenConnection | Failure::NodeTrouble if idempotent => Decision::NextNode,
        Failure::NotSent | Failure::Bootstrapping => Decision::NextNode,
        Failure::TooFewReplicas if !attempts.too_few_replicas => {
            attempts.too_few_replicas = true;
            Decision::NextNode
        }
        Failure::ReadTimeoutWithoutData if idempotent && !attempts.read_timeout => {
            attempts.read_timeout = true;
            Decision::SameNode
        }
        Failure::BatchLogWriteTimeout if idempotent && !attempts.write_timeout => {
            attempts.write_timeout = true;
            Decision::SameNode
        }
        _ => Decision::GiveUp,
    };
    if decision != Decision::GiveUp {
        attempts.retries += 1;
    }
    decision
}

/// Classifies a driver error.
pub(crate) fn classify(error: &RequestAttemptError) -> Failure {
    match error {
        RequestAttemptError::BrokenConnectionError(_) => Failure::BrokenConnection,
        RequestAttemptError::UnableToAllocStreamId => Failure::NotSent,
        RequestAttemptError::DbError(db, _) => match db {
            DbError::Overloaded | DbError::ServerError | DbError::TruncateError => {
                Failure::NodeTrouble
            }
            DbError::Unavailable { .. } => Failure::TooFewReplicas,
            DbError::ReadTimeout {
                received,
                required,
                data_present,
                ..
            } if received >= required && !*data_present => Failure::ReadTimeoutWithoutData,
            DbError::WriteTimeout {
                write_type: WriteType::BatchLog,
                ..
            } => Failure::BatchLogWriteTimeout,
            DbError::IsBootstrapping => Failure::Bootstrapping,
            _ => Failure::Final,
        },
        _ => Failure::Final,
    }
}

/// The store's retry policy (see the module table).
#[derive(Debug, Default, Clone, Copy)]
pub struct StoreRetryPolicy;

impl RetryPolicy for StoreRetryPolicy {
    fn new_session(&self) -> Box<dyn RetrySession> {
        Box::new(Session::default())
    }
}

#[derive(Debug, Default)]
struct Session {
    attempts: Attempts,
}

impl RetrySession for Session {
    fn decide_should_retry(&mut self, request_info: RequestInfo) -> RetryDecision {
        // A serial read is part of a lightweight transaction: its outcome is not ours to redo.
        if request_info.consistency.is_serial() {
            return RetryDecision::DontRetry;
        }
        let failure = classify(request_info.error);
        match decide(failure, request_info.is_idempotent, &mut self.attempts) {
            Decision::SameNode => RetryDecision::RetrySameTarget(None),
            Decision::NextNode => RetryDecision::RetryNextTarget(None),
            Decision::GiveUp => RetryDecision::DontRetry,
        }
    }

    fn reset(&mut self) {
        self.attempts = Attempts::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(failure: Failure, idempotent: bool, expected: &[Decision]) {
        let mut attempts = Attempts::default();
        let seen: Vec<Decision> = (0..expected.len())
            .map(|_| decide(failure, idempotent, &mut attempts))
            .collect();
        assert_eq!(seen, expected, "{failure:?}, idempotent: {idempotent}");
    }

    use Decision::{GiveUp, NextNode, SameNode};

    #[test]
    fn idempotent_requests_move_on_from_broken_nodes() {
        check(
            Failure::BrokenConnection,
            true,
            &[NextNode, NextNode, NextNode, GiveUp],
        );
        check(
            Failure::NodeTrouble,
            true,
            &[NextNode, NextNode, NextNode, GiveUp],
        );
    }

    #[test]
    fn lightweight_transactions_are_not_sent_twice_when_they_may_have_run() {
        check(Failure::BrokenConnection, false, &[GiveUp]);
        check(Failure::NodeTrouble, false, &[GiveUp]);
        check(Failure::BatchLogWriteTimeout, false, &[GiveUp]);
        check(Failure::ReadTimeoutWithoutData, false, &[GiveUp]);
    }

    #[test]
    fn requests_that_did_not_run_may_go_elsewhere() {
        check(
            Failure::NotSent,
            false,
            &[NextNode, NextNode, NextNode, GiveUp],
        );
        check(
            Failure::Bootstrapping,
            false,
            &[NextNode, NextNode, NextNode, GiveUp],
        );
        check(Failure::TooFewReplicas, false, &[NextNode, GiveUp]);
        check(Failure::TooFewReplicas, true, &[NextNode, GiveUp]);
    }

    #[test]
    fn timeouts_are_retried_once_on_the_same_node() {
        check(Failure::ReadTimeoutWithoutData, true, &[SameNode, GiveUp]);
        check(Failure::BatchLogWriteTimeout, true, &[SameNode, GiveUp]);
    }

    #[test]
    fn final_failures_are_not_retried() {
        check(Failure::Final, true, &[GiveUp]);
        check(Failure::Final, false, &[GiveUp]);
    }

    #[test]
    fn driver_errors_are_classified() {
        let unavailable = RequestAttemptError::DbError(
            DbError::Unavailable {
                consistency: scylla::statement::Consistency::Quorum,
                required: 2,
                alive: 1,
            },
            String::new(),
        );
        assert_eq!(classify(&unavailable), Failure::TooFewReplicas);
        let syntax = RequestAttemptError::DbError(DbError::SyntaxError, String::new());
        assert_eq!(classify(&syntax), Failure::Final);
        let overloaded = RequestAttemptError::DbError(DbError::Overloaded, String::new());
        assert_eq!(classify(&overloaded), Failure::NodeTrouble);
        assert_eq!(
            classify(&RequestAttemptError::UnableToAllocStreamId),
            Failure::NotSent
        );
        let cas_timeout = RequestAttemptError::DbError(
            DbError::WriteTimeout {
                consistency: scylla::statement::Consistency::Quorum,
                received: 0,
                required: 1,
                write_type: WriteType::Cas,
            },
            String::new(),
        );
        assert_eq!(classify(&cas_timeout), Failure::Final);
    }
}
