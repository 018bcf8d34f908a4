//! The signed-in staff member.

use actix_web::{get, web};
use burgernet_core::auth::staff::StaffMember;

use crate::auth::Staff;
use crate::error::Problem;

/// Who the caller is, as their token says.
///
/// Who may call: any staff member (dispatcher, relations officer, admin). Lets the control-room
/// and municipal front ends show the role and scope the server will enforce.
#[utoipa::path(
    tag = "staff",
    security(("staff_token" = [])),
    responses(
        (status = 200, description = "The verified staff member.", body = StaffMember),
        (status = 401, description = "No token, or an invalid or expired one.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A participant token, or a token without a Burgernet role.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/staff/me")]
pub async fn current_staff_member(Staff(member): Staff) -> web::Json<StaffMember> {
    web::Json(member)
}
