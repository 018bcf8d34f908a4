//! One file per resource. `configure` registers every route of the contract; the OpenAPI
//! document is generated from the same call, so the two cannot drift apart.

pub mod dev;
pub mod municipalities;
pub mod operations;
pub mod regions;
pub mod session;
pub mod staff;

use utoipa_actix_web::service_config::ServiceConfig;

pub fn configure(config: &mut ServiceConfig) {
    config
        .service(operations::healthz)
        .service(operations::readyz)
        .service(operations::metrics)
        .service(operations::openapi_json)
        .service(operations::reference)
        .service(staff::current_staff_member)
        .service(regions::list_regions)
        .service(regions::create_region)
        .service(regions::get_region)
        .service(regions::list_region_municipalities)
        .service(municipalities::get_municipality)
        .service(session::current_session);
}
