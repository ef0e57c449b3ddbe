//! The unary etcd methods: KV, Lease, Maintenance.Status and Cluster.MemberList, as functions
//! of the shared server state.

use crate::config::{header, MEMBER_ID};
use crate::error::EtcdError;
use crate::proto::{
    CompactionRequest, CompactionResponse, DeleteRangeRequest, DeleteRangeResponse, PutRequest,
    PutResponse, RangeRequest, RangeResponse, Request, RequestOp, Response, TxnRequest,
};
use crate::proto_stream::{
    LeaseGrantRequest, LeaseGrantResponse, LeaseRevokeRequest, LeaseRevokeResponse,
    LeaseTimeToLiveRequest, LeaseTimeToLiveResponse, Member, MemberListRequest, MemberListResponse,
    StatusRequest, StatusResponse,
};
use crate::server::EtcdServer;
use std::time::Instant;

/// The etcd version this endpoint reports: the API it implements is etcd 3.6's (no RangeStream).
pub const ETCD_VERSION: &str = "3.6.0";

/// `KV.Range`.
pub fn range(server: &EtcdServer, request: RangeRequest) -> Result<RangeResponse, EtcdError> {
    server
        .policy
        .check_range(&request.key, &request.range_end)?;
    let state = server.state.read();
    let mut response = state.range(&request)?;
    response.header = Some(header(state.revision));
    Ok(response)
}

/// Runs one operation as a transaction; returns its answer.
async fn single(server: &EtcdServer, request: Request) -> Result<Response, EtcdError> {
    let txn = TxnRequest {
        success: vec![RequestOp {
            request: Some(request),
        }],
        ..Default::default()
    };
    let response = server.txn(txn).await?;
    response
        .responses
        .into_iter()
        .next()
        .and_then(|r| r.response)
        .ok_or_else(|| EtcdError::Storage("an operation without its answer".into()))
}

/// `KV.Put`: a one-operation transaction.
pub async fn put(server: &EtcdServer, request: PutRequest) -> Result<PutResponse, EtcdError> {
    match single(server, Request::Put(request)).await? {
        Response::Put(put) => Ok(put),
        _ => Err(EtcdError::Storage(
            "a put answered as another operation".into(),
        )),
    }
}

/// `KV.DeleteRange`: a one-operation transaction.
pub async fn delete_range(
    server: &EtcdServer,
    request: DeleteRangeRequest,
) -> Result<DeleteRangeResponse, EtcdError> {
    match single(server, Request::DeleteRange(request)).await? {
        Response::DeleteRange(delete) => Ok(delete),
        _ => Err(EtcdError::Storage(
            "a delete answered as another operation".into(),
        )),
    }
}

/// `KV.Compact`.
pub async fn compact(
    server: &EtcdServer,
    request: CompactionRequest,
) -> Result<CompactionResponse, EtcdError> {
    let revision = server.compact(request.revision).await?;
    Ok(CompactionResponse {
        header: Some(header(revision)),
    })
}

/// `Lease.LeaseGrant`.
pub async fn lease_grant(
    server: &EtcdServer,
    request: LeaseGrantRequest,
) -> Result<LeaseGrantResponse, EtcdError> {
    let (id, ttl) = server.grant(request.id, request.ttl).await?;
    Ok(LeaseGrantResponse {
        header: Some(header(server.current_revision())),
        id,
        ttl,
        error: String::new(),
    })
}

/// `Lease.LeaseRevoke`.
pub async fn lease_revoke(
    server: &EtcdServer,
    request: LeaseRevokeRequest,
) -> Result<LeaseRevokeResponse, EtcdError> {
    let revision = server.revoke(&[request.id]).await?;
    Ok(LeaseRevokeResponse {
        header: Some(header(revision)),
    })
}

/// `Lease.LeaseTimeToLive`.
pub fn lease_time_to_live(
    server: &EtcdServer,
    request: LeaseTimeToLiveRequest,
) -> Result<LeaseTimeToLiveResponse, EtcdError> {
    let state = server.state.read();
    let mut response = LeaseTimeToLiveResponse {
        header: Some(header(state.revision)),
        id: request.id,
        ttl: -1,
        ..Default::default()
    };
    if let Some(lease) = state.leases.get(&request.id) {
        let left = lease.deadline.saturating_duration_since(Instant::now());
        response.ttl = left.as_secs() as i64;
        response.granted_ttl = lease.ttl;
        if request.keys {
            response.keys = lease.keys.iter().cloned().collect();
        }
    }
    Ok(response)
}

/// `Maintenance.Status`.
pub fn status(server: &EtcdServer, _: StatusRequest) -> Result<StatusResponse, EtcdError> {
    let revision = server.current_revision();
    Ok(StatusResponse {
        header: Some(header(revision)),
        version: ETCD_VERSION.into(),
        db_size: server.log_bytes(),
        leader: MEMBER_ID,
        raft_index: revision as u64,
        raft_term: 1,
        raft_applied_index: revision as u64,
        db_size_in_use: server.log_bytes(),
    })
}

/// `Cluster.MemberList`: this endpoint, alone.
pub fn member_list(
    server: &EtcdServer,
    _: MemberListRequest,
) -> Result<MemberListResponse, EtcdError> {
    Ok(MemberListResponse {
        header: Some(header(server.current_revision())),
        members: vec![Member {
            id: MEMBER_ID,
            name: "kevents".into(),
            peer_urls: Vec::new(),
            client_urls: server.config.client_urls.clone(),
        }],
    })
}
