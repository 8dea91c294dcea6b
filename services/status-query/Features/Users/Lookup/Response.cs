using System.Diagnostics.CodeAnalysis;
using System.Text.Json.Serialization;
using Presence.Core;

namespace Presence.StatusQuery.Features.Users.Lookup;

/// <summary>One user's status (<see cref="PresenceView"/>, the same mapping) with the role it was asked for.</summary>
public sealed class LookupResponse : PresenceView
{
    public LookupResponse()
    {
    }

    [SetsRequiredMembers]
    public LookupResponse(PresenceRole role, PresenceEntry entry)
        : base(entry)
    {
        Role = role.Name();
    }

    [JsonPropertyOrder(-1)]
    public required string Role { get; init; }
}
