/// DOMAIN.md's default policy, compiled in so the service starts with a known-good policy even
/// when no file is configured. `ClaimlinePolicyTests` proves it equals `config/policy.json`.
extension Policy {
    /// DOMAIN.md's default policy, identical to config/policy.json (a test proves they match).
    public static let `default`: Policy = {
        do {
            return try parse(Array(defaultJSON.utf8))
        } catch {
            fatalError("the built-in default policy is invalid: \(error)")
        }
    }()

    /// The text of `config/policy.json`; edit both together.
    static let defaultJSON = #"""
        {
          "name": "default",
          "version": "2026-11-25",
          "escalate": [
            {"rule": "mass_incident", "when": {"incident": true}, "decision": "FOLLOW_INCIDENT_PLAYBOOK"},
            {"rule": "quality_of_service", "when": {"groups": ["shop", "contact_centre", "dealer"]}, "decision": "FILE_CLAIM"},
            {"rule": "value_tier_consultation", "when": {"value_tiers": [3, 4]}, "decision": "FIRST_LINE_CONSULTATION"},
            {"rule": "second_line_normal", "when": {"second_line_modes": ["NORMAL"]}, "decision": "TRANSFER_TO_SECOND_LINE"},
            {"rule": "second_line_unavailable", "when": {}, "decision": "FILE_CLAIM"}
          ],
          "routing": {
            "default": {"department": "Отдел по работе с претензиями", "due_hours": 168},
            "groups": {
              "shop": {"department": "Отдел управления розничной сетью (СМ)", "due_hours": 120},
              "contact_centre": {"department": "Отдел качества обслуживания (МРКЦ)", "due_hours": 120},
              "dealer": {"department": "Отдел по работе с дилерами", "due_hours": 120},
              "billing": {"department": "Отдел биллинга (АСР)", "due_hours": 72},
              "other": {"department": "Отдел по работе с претензиями", "due_hours": 168}
            },
            "categories": {
              "shop/confidentiality_breach": {"department": "Служба информационной безопасности", "due_hours": 72},
              "contact_centre/confidentiality_breach": {"department": "Служба информационной безопасности", "due_hours": 72},
              "dealer/confidentiality_breach": {"department": "Служба информационной безопасности", "due_hours": 72},
              "billing/balance_desync": {"department": "Отдел биллинга (АСР)", "due_hours": 48},
              "billing/blocked_with_positive_balance": {"department": "Отдел биллинга (АСР)", "due_hours": 24},
              "billing/charged_while_blocked": {"department": "Отдел биллинга (АСР)", "due_hours": 48},
              "other/self_service_malfunction": {"department": "Отдел развития каналов самообслуживания (МП, ИП, USSD, МТС-info)", "due_hours": 72},
              "other/tariff_change_dissatisfaction": {"department": "Отдел тарифной политики", "due_hours": 168}
            }
          }
        }
        """#
}
