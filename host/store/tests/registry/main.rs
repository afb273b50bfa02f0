//! The content-addressed store and registry: blobs, publishing, signing and
//! trust, channels, locks, and behaviour under concurrent processes and
//! kill -9. One binary; `faults::child_worker` is the child process the
//! fault tests spawn (ignored on its own).

#[cfg(test)]
mod blobs; // put/get, tamper detection, gc
#[cfg(test)]
mod channels; // promote, downgrade protection, rollback, scopes, resolve
#[cfg(test)]
mod faults; // two processes at once; kill -9 mid-publish/promote
#[cfg(test)]
mod locks; // lock files: round trip, digests, registration
#[cfg(test)]
mod registry; // publish, idempotence, conflicts, names and versions
#[cfg(test)]
mod signing; // key files, signatures, trust policies, quorum, revocation
#[cfg(test)]
mod support;
