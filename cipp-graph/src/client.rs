//! [`GraphClient`]: Microsoft Graph for any tenant through one pipeline.

use cipp_core::{Pipeline, TenantId};

/// Sends Graph operations for any tenant through one [`Pipeline`]. Cheap to clone;
/// [`GraphClient::tenant`] scopes it to one tenant, whose handlers hold every operation.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), cipp_core::Error> {
/// # let sim = cipp_sim::Simulator::demo();
/// # let pipeline = cipp_core::Pipeline::builder().transport(std::sync::Arc::new(sim.clone())).credentials(sim.demo_credentials()).build()?;
/// let graph = cipp_graph::GraphClient::new(pipeline);
/// let contoso = graph.tenant(&cipp_core::TenantId::parse("contoso.onmicrosoft.com")?);
/// let users = contoso.users().list().top(5).await?;
/// assert!(!users.is_empty());
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct GraphClient {
    pipeline: Pipeline,
}

impl GraphClient {
    /// A client over `pipeline`.
    pub fn new(pipeline: Pipeline) -> Self {
        GraphClient { pipeline }
    }

    /// The pipeline (to send [`crate::GraphOp`]s or `$batch`es).
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// Graph scoped to `tenant`: `graph.tenant(&t).users().list()`.
    pub fn tenant(&self, tenant: &TenantId) -> crate::TenantGraph {
        crate::TenantGraph::new(self.pipeline.clone(), tenant.clone())
    }
}
