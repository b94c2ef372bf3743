//! Who may do what in a group. The rules are pure: the store calls them inside the
//! transaction that reads the roles and settings they judge, so a decision and the change it
//! allows happen in one order.

use super::code;
use super::error::Error;
use super::group::{Role, Settings};

fn refuse(code: &'static str, message: &str) -> Error {
    Error::forbidden(code, message)
}

/// Sending: any member, or only admins under `only_admins_send`.
pub fn may_send(role: Role, settings: &Settings) -> Result<(), Error> {
    if settings.only_admins_send && !role.is_admin() {
        return Err(refuse(
            code::ADMIN_REQUIRED,
            "only admins may send in this group",
        ));
    }
    Ok(())
}

/// Renaming or describing: any member, or only admins under `only_admins_edit_info`.
pub fn may_edit_info(role: Role, settings: &Settings) -> Result<(), Error> {
    if settings.only_admins_edit_info && !role.is_admin() {
        return Err(refuse(
            code::ADMIN_REQUIRED,
            "only admins may change this group's title and description",
        ));
    }
    Ok(())
}

/// Changing settings: admins only.
pub fn may_change_settings(role: Role) -> Result<(), Error> {
    if !role.is_admin() {
        return Err(refuse(
            code::ADMIN_REQUIRED,
            "only admins may change a group's settings",
        ));
    }
    Ok(())
}

/// Adding people: any member, or only admins under `only_admins_add`.
pub fn may_add(role: Role, settings: &Settings) -> Result<(), Error> {
    if settings.only_admins_add && !role.is_admin() {
        return Err(refuse(
            code::ADMIN_REQUIRED,
            "only admins may add people to this group",
        ));
    }
    Ok(())
}

/// Removing `target`: admins, never the owner.
pub fn may_remove(actor: Role, target: Role) -> Result<(), Error> {
    if !actor.is_admin() {
        return Err(refuse(
            code::ADMIN_REQUIRED,
            "only admins may remove members",
        ));
    }
    if target == Role::Owner {
        return Err(refuse(
            code::OWNER_REQUIRED,
            "nobody may remove the group's owner",
        ));
    }
    Ok(())
}

/// Giving `target` the role `to`: the owner; admins may make admins but not demote them.
pub fn may_set_role(actor: Role, target: Role, to: Role) -> Result<(), Error> {
    if !actor.is_admin() {
        return Err(refuse(code::ADMIN_REQUIRED, "only admins may change roles"));
    }
    if target == Role::Owner {
        return Err(refuse(
            code::OWNER_REQUIRED,
            "the owner's role changes only when they leave",
        ));
    }
    if actor != Role::Owner && target == Role::Admin && to == Role::Member {
        return Err(refuse(
            code::OWNER_REQUIRED,
            "only the owner may demote an admin",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::code;

    #[test]
    fn admins_may_make_admins_but_only_the_owner_demotes_them() {
        use Role::*;
        assert!(may_set_role(Admin, Member, Admin).is_ok());
        assert_eq!(
            may_set_role(Admin, Admin, Member).unwrap_err().code(),
            code::OWNER_REQUIRED
        );
        assert!(may_set_role(Owner, Admin, Member).is_ok());
        assert_eq!(
            may_set_role(Member, Member, Admin).unwrap_err().code(),
            code::ADMIN_REQUIRED
        );
        assert_eq!(
            may_remove(Admin, Owner).unwrap_err().code(),
            code::OWNER_REQUIRED
        );
        assert_eq!(
            may_remove(Member, Member).unwrap_err().code(),
            code::ADMIN_REQUIRED
        );
        assert!(may_remove(Admin, Member).is_ok());
    }
}
