/// The methods of protocol v1, by the number that travels in the frame header.
///
/// A number, not a name, keeps the hot path free of string compares; PROTOCOL.md lists the
/// same table. Numbers are never reused: a retired method keeps its number.
public enum Method: UInt16, CaseIterable, Sendable {
    case escalate = 1
    case retain = 2
    case fileComplaint = 3
    case getClaim = 4
    case listClaims = 5
    case updateClaimStatus = 6
    case declareIncident = 7
    case withdrawIncident = 8
    case listIncidents = 9
    case getSecondLineMode = 10
    case setSecondLineMode = 11
    case getStats = 12
    case getContact = 13

    /// The name used in logs, metrics labels and PROTOCOL.md.
    public var name: String {
        switch self {
        case .escalate: "Escalate"
        case .retain: "Retain"
        case .fileComplaint: "FileComplaint"
        case .getClaim: "GetClaim"
        case .listClaims: "ListClaims"
        case .updateClaimStatus: "UpdateClaimStatus"
        case .declareIncident: "DeclareIncident"
        case .withdrawIncident: "WithdrawIncident"
        case .listIncidents: "ListIncidents"
        case .getSecondLineMode: "GetSecondLineMode"
        case .setSecondLineMode: "SetSecondLineMode"
        case .getStats: "GetStats"
        case .getContact: "GetContact"
        }
    }

    /// Full protobuf names of the request and response messages.
    public var messageNames: (request: String, response: String) {
        switch self {
        case .escalate: ("claimline.v1.EscalateRequest", "claimline.v1.EscalateResponse")
        case .retain: ("claimline.v1.RetainRequest", "claimline.v1.RetainResponse")
        case .fileComplaint: ("claimline.v1.FileComplaintRequest", "claimline.v1.FileComplaintResponse")
        case .getClaim: ("claimline.v1.GetClaimRequest", "claimline.v1.GetClaimResponse")
        case .listClaims: ("claimline.v1.ListClaimsRequest", "claimline.v1.ListClaimsResponse")
        case .updateClaimStatus:
            ("claimline.v1.UpdateClaimStatusRequest", "claimline.v1.UpdateClaimStatusResponse")
        case .declareIncident: ("claimline.v1.DeclareIncidentRequest", "claimline.v1.DeclareIncidentResponse")
        case .withdrawIncident:
            ("claimline.v1.WithdrawIncidentRequest", "claimline.v1.WithdrawIncidentResponse")
        case .listIncidents: ("claimline.v1.ListIncidentsRequest", "claimline.v1.ListIncidentsResponse")
        case .getSecondLineMode: ("claimline.v1.GetSecondLineModeRequest", "claimline.v1.SecondLineModeResponse")
        case .setSecondLineMode: ("claimline.v1.SetSecondLineModeRequest", "claimline.v1.SecondLineModeResponse")
        case .getStats: ("claimline.v1.GetStatsRequest", "claimline.v1.GetStatsResponse")
        case .getContact: ("claimline.v1.GetContactRequest", "claimline.v1.GetContactResponse")
        }
    }
}
