namespace Presence.ServiceDefaults;

/// <summary>Where hubs live (docs/architecture.md, "Browsers and CORS"): the token is read from the query under this prefix.</summary>
public static class HubPaths
{
    /// <summary>Every hub path starts with this segment; request body limits leave it to the hub's own message limit.</summary>
    public const string Prefix = "/hubs";

    /// <summary>The presence hub: the gateway maps it, the page configuration names it to the browser.</summary>
    public const string Presence = Prefix + "/presence";
}
