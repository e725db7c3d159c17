//! Campaign operations.

use opsflow_api::{ApiRequest, ApiResponse, Problem};

pub async fn handle(op: &str, _params: &[String], _req: ApiRequest) -> ApiResponse {
    Problem::not_found(format!("operation {op} is not built yet")).into()
}
