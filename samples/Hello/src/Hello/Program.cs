using Greeting;
using Newtonsoft.Json;

var name = args.Length > 0 ? args[0] : "world";
Console.WriteLine(JsonConvert.SerializeObject(new { message = Greeter.Greet(name) }));
