using Microsoft.AspNetCore.Http;
using Presence.Core;

namespace Presence.HeartbeatApi.Features;

/// <summary>The REST session a request names (docs/architecture.md, "Sessions"): a body <c>deviceId</c>, else the header.</summary>
internal static class Device
{
    public const string Header = "X-Presence-Device";

    public const string Invalid = "deviceId (or the " + Header + " header) must match " + UserId.Pattern + ".";

    /// <summary>The device, null for the default REST session; false when the one given is not a valid id.</summary>
    public static bool TryGet(HttpContext context, string? fromBody, out string? device)
    {
        device = fromBody;
        if (device is null && context.Request.Headers.TryGetValue(Header, out var header))
        {
            device = header.ToString();
        }

        return device is null || UserId.IsValid(device);
    }
}
