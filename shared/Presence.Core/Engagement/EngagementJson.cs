using System.Text.Json;
using System.Text.Json.Serialization;

namespace Presence.Core.Engagement;

/// <summary>What the engagement features put on the wire, serialized without reflection.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(PreferredOnline))]
[JsonSerializable(typeof(HubNotification))]
public sealed partial class EngagementJson : JsonSerializerContext;
