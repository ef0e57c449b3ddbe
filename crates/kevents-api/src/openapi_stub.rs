use kevents_model::ApiGroup;
pub fn document(_group: ApiGroup) -> &'static [u8] { b"{}" }
pub fn index() -> &'static [u8] { b"{}" }
