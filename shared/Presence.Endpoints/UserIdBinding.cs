using System.Text.Json;
using Microsoft.Extensions.Primitives;
using Presence.Core;

namespace Presence.Endpoints;

/// <summary>
/// The 400's message when a route or query value cannot be bound (FastEndpoints binds through a static TryParse):
/// for a <see cref="UserId"/> the pattern it must match; for any other type FastEndpoints' own wording.
/// </summary>
internal static class UserIdBinding
{
    public static string Message(Type type, string property, StringValues value)
    {
        ArgumentNullException.ThrowIfNull(type);
        var bound = Nullable.GetUnderlyingType(type) ?? type;
        return bound == typeof(UserId)
            ? "'" + JsonNamingPolicy.CamelCase.ConvertName(property) + "' must match " + UserId.Pattern + "."
            : "Value [" + value + "] is not valid for a [" + bound.Name + "] property!";
    }
}
