//! The signed-in staff member.

use actix_web::{get, web};
use burgernet_core::auth::staff::StaffMember;

use crate::auth::Staff;
use crate::error::StaffAccessProblems;

/// Who the caller is, as their token says.
///
/// Who may call: any staff member (dispatcher, relations officer, admin). Lets the control-room
/// and municipal front ends show the role and scope the server will enforce.
#[utoipa::path(
    tag = "staff",
    security(("staff_token" = [])),
    responses(
        (status = 200, description = "The verified staff member.", body = StaffMember),
        StaffAccessProblems,
    )
)]
#[get("/v1/staff/me")]
pub async fn current_staff_member(Staff(member): Staff) -> web::Json<StaffMember> {
    web::Json(member)
}
